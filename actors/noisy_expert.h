// The noisy expert and the expert: fast sources built on the environment's
// own expert (BatchedEnv::ExpertActions, which knows the task).
//
// noisy_expert: in each episode e of a stream's budget of E episodes it
// takes a uniformly random action with probability
//   epsilon_e = epsilon_start + (epsilon_end - epsilon_start) * e / (E - 1)
// and the expert's action otherwise, so with the defaults (1 -> 0) its
// history rises from random to optimal: a learning-history stand-in that
// costs nothing to generate. expert: epsilon = 0 throughout, the data of the
// ED (expert distillation) baseline.
//
// Preset keys (prefix "noisy_expert."): epsilon_start, epsilon_end. The
// expert has none.
#ifndef AD_ACTORS_NOISY_EXPERT_H_
#define AD_ACTORS_NOISY_EXPERT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

struct NoisyExpertOptions {
  double epsilon_start = 1.0;  // in the first episode
  double epsilon_end = 0.0;    // in the last episode
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeNoisyExpertAgent(
    const TaskSpec& spec, const SourceParams& params);
absl::StatusOr<std::unique_ptr<SourceAgent>> MakeExpertAgent(
    const TaskSpec& spec, const SourceParams& params);

// The noisy expert's epsilon in episode `episode` of a budget of `episodes`.
double NoisyExpertEpsilon(const NoisyExpertOptions& options, int episode,
                          int episodes);

}  // namespace ad::actors

#endif  // AD_ACTORS_NOISY_EXPERT_H_
