// The one interface every evaluated method implements: the AD / ED
// transformer (evaluator/policies/model_policy.h) and the baselines (random,
// optimal, the critique's heuristic, in evaluator/policies/).
//
// The rollout loop (evaluator/rollout.h) calls Begin once with the rows of a
// rollout (one row = one task x one evaluation seed), then, every environment
// step, Act with views of the rows' contexts (the last c transitions across
// episode boundaries and the current observation). Act may be called with all
// rows at once or with slices of rows; a policy must give the same actions
// either way (per-row random streams are keyed by ContextBatch::global_row).
// A policy never sees the environment's hidden task, except the optimal
// baseline, which reads the expert's actions through `oracle`.
//
// Policies are used by one rollout thread at a time; Act may block for the
// length of one model forward and nothing else.
#ifndef AD_EVALUATOR_POLICY_H_
#define AD_EVALUATOR_POLICY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "envs/env.h"
#include "evaluator/context_buffer.h"

namespace ad::evaluator {

// One rollout row: a held-out task and an evaluation seed.
struct RowSpec {
  std::string task_id;  // e.g. "darkroom/goal=3,7"
  uint64_t seed = 0;    // evaluation seed; rows of one task differ by it
};

// A seed for a row's private random stream, from the row and a salt that
// differs between policies: the same (task, seed) always gets the same
// stream, whatever its position in the batch.
uint64_t RowStreamSeed(const RowSpec& row, uint64_t salt);

class InContextPolicy {
 public:
  virtual ~InContextPolicy() = default;

  // The method's name in curves and plots ("ad", "random", ...).
  virtual std::string name() const = 0;

  // Starts a rollout over `rows` of environment family `space`. Resets any
  // per-row state. INVALID_ARGUMENT if the policy cannot act in `space`
  // (e.g. a model trained on another action count), naming the mismatch.
  virtual absl::Status Begin(const envs::SpaceSpec& space,
                             absl::Span<const RowSpec> rows) = 0;

  // Writes one action per row of `context` into `actions`
  // (actions.size() == context.rows()). `oracle` is the environment batch of
  // the whole rollout, for the optimal baseline only: learned policies and
  // the heuristic must not read it.
  virtual absl::Status Act(const ContextBatch& context,
                           const envs::BatchedEnv& oracle,
                           absl::Span<int32_t> actions) = 0;
};

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_POLICY_H_
