// Owned output arrays for BatchedEnv::Step, sized for one batch.
//
// Callers that step a BatchedEnv in a loop (actors, evaluators, tests) keep
// one StepBuffers per env and pass output() to every Step, so stepping never
// allocates. Not thread-safe; cheap to copy for comparisons.
#ifndef AD_ENVS_STEP_BUFFERS_H_
#define AD_ENVS_STEP_BUFFERS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "envs/env.h"

namespace ad::envs {

struct StepBuffers {
  explicit StepBuffers(const BatchedEnv& env)
      : obs(static_cast<size_t>(env.num_envs()) * env.space().obs_dim),
        rewards(env.num_envs()),
        dones(env.num_envs()) {}

  StepOutput output() {
    return StepOutput{absl::MakeSpan(obs), absl::MakeSpan(rewards),
                      absl::MakeSpan(dones)};
  }

  std::vector<int32_t> obs;  // num_envs * obs_dim
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
};

}  // namespace ad::envs

#endif  // AD_ENVS_STEP_BUFFERS_H_
