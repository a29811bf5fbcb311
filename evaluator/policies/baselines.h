// The non-learned methods the AD curve is compared with, all behind the
// InContextPolicy interface so they run through the same rollout loop, on the
// same tasks and seeds, as the transformer:
//
//  * RandomPolicy: uniform over the action set, a private stream per row.
//  * OptimalPolicy: the environment's expert (it knows the task); its
//    per-episode return is the family's OptimalReturn. Reads `oracle`.
//  * HeuristicPolicy: the critique's "go where the last reward was": it
//    looks back through its context for the most recent rewarded transition;
//    in a grid world it walks (shortest path) to the cell that transition
//    landed on, which for an episode that ended on the goal is where that
//    episode ended, and stays there; in the bandit it pulls the arm that last
//    paid. With no reward in context it explores: a uniformly random move
//    (grid) or arm (bandit). It uses only what a context-conditioned policy
//    sees, so its curve is what "in-context RL" by this shortcut looks like.
//
// Each is cheap (no model); Act never blocks.
#ifndef AD_EVALUATOR_POLICIES_BASELINES_H_
#define AD_EVALUATOR_POLICIES_BASELINES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rng.h"
#include "evaluator/policy.h"

namespace ad::evaluator {

class RandomPolicy : public InContextPolicy {
 public:
  std::string name() const override { return "random"; }
  absl::Status Begin(const envs::SpaceSpec& space,
                     absl::Span<const RowSpec> rows) override;
  absl::Status Act(const ContextBatch& context, const envs::BatchedEnv& oracle,
                   absl::Span<int32_t> actions) override;

 private:
  int num_actions_ = 0;
  std::vector<SplitMix64> streams_;  // one per rollout row
};

class OptimalPolicy : public InContextPolicy {
 public:
  std::string name() const override { return "optimal"; }
  absl::Status Begin(const envs::SpaceSpec& space,
                     absl::Span<const RowSpec> rows) override;
  absl::Status Act(const ContextBatch& context, const envs::BatchedEnv& oracle,
                   absl::Span<int32_t> actions) override;

 private:
  std::vector<int32_t> expert_;  // scratch, one per rollout row
};

// The expert with probability 1 - epsilon, a uniformly random action
// otherwise: a policy of known competence, used to synthesise partial
// demonstrations when no recorded source history is at hand. Reads `oracle`.
class NoisyExpertPolicy : public InContextPolicy {
 public:
  // Dies unless 0 <= epsilon <= 1 (callers validate their options).
  explicit NoisyExpertPolicy(double epsilon);
  std::string name() const override;
  absl::Status Begin(const envs::SpaceSpec& space,
                     absl::Span<const RowSpec> rows) override;
  absl::Status Act(const ContextBatch& context, const envs::BatchedEnv& oracle,
                   absl::Span<int32_t> actions) override;

 private:
  double epsilon_;
  int num_actions_ = 0;
  std::vector<int32_t> expert_;      // scratch, one per rollout row
  std::vector<SplitMix64> streams_;  // one per rollout row
};

class HeuristicPolicy : public InContextPolicy {
 public:
  std::string name() const override { return "heuristic"; }
  // INVALID_ARGUMENT for a family it has no rule for (it knows the grid
  // worlds, whose observation is the (x, y) cell, and the bandit).
  absl::Status Begin(const envs::SpaceSpec& space,
                     absl::Span<const RowSpec> rows) override;
  absl::Status Act(const ContextBatch& context, const envs::BatchedEnv& oracle,
                   absl::Span<int32_t> actions) override;

 private:
  bool grid_ = false;      // grid world (else bandit)
  int32_t grid_size_ = 0;  // cells per side
  int num_actions_ = 0;
  std::vector<SplitMix64> streams_;  // one per rollout row
};

// The baseline called `name` ("random", "optimal", "heuristic"); NOT_FOUND
// listing the known names otherwise.
absl::StatusOr<std::unique_ptr<InContextPolicy>> MakeBaseline(
    std::string_view name);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_POLICIES_BASELINES_H_
