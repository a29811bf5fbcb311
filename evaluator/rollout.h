// The in-context rollout: one policy, many rows (held-out task x evaluation
// seed), all stepped together in one BatchedEnv, with one policy call per
// environment step for the whole batch (paper Algorithm 1, part 3).
//
// Each row starts with an empty context (or a prompt: transitions pushed
// before the first step, for the partial-demonstration experiment), which
// then fills with the row's own transitions; the context keeps the last
// `context_len` transitions across episode boundaries. The policy's weights
// never change; only its context does. The result is every row's return in
// every episode.
//
// Called by the experiments (evaluator/experiments.h), the ad-evaluator
// service and the benchmark. Runs on the calling thread and blocks until all
// rows have finished `episodes` episodes, or the cancel hook says stop.
#ifndef AD_EVALUATOR_ROLLOUT_H_
#define AD_EVALUATOR_ROLLOUT_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envs/env.h"
#include "evaluator/policy.h"

namespace ad::evaluator {

struct RolloutOptions {
  int episodes = 40;      // per row, >= 1
  int context_len = 80;   // transitions kept per row (c), >= 1
  uint64_t env_seed = 0;  // seed of the BatchedEnv (instance i gets its own)
  // Rows per policy call: 0 (the default) puts every row in one call, i.e.
  // one batched forward per step; 1 gives each row its own call (the
  // benchmark's baseline and the determinism test).
  int rows_per_call = 0;

  absl::Status Validate() const;
};

// Transitions pushed into every row's context before the first step: row r's
// transition t is obs[(r * length + t) * obs_dim ...], actions[r * length +
// t], and so on (oldest first).
struct Prompt {
  int length = 0;  // transitions per row
  std::vector<int32_t> obs;
  std::vector<int32_t> actions;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
};

struct RolloutHooks {
  // Called after each step in which the slowest row finished an episode,
  // with the number of episodes every row has finished.
  std::function<void(int episodes_done)> on_episode;
  // Polled once per step; true stops the rollout with CANCELLED.
  std::function<bool()> cancelled;
  // Called after every step with the batch's transitions (obs before the
  // step, actions, rewards, dones; one per row), e.g. to record prompts.
  std::function<void(
      absl::Span<const int32_t> obs, absl::Span<const int32_t> actions,
      absl::Span<const float> rewards, absl::Span<const uint8_t> dones)>
      on_transition;
};

struct RolloutResult {
  std::vector<RowSpec> rows;
  int episodes = 0;
  // returns[r * episodes + e]: the return of row r's episode e.
  std::vector<float> returns;
  // end_steps[r * episodes + e]: environment steps row r had taken when its
  // episode e ended (for curves over env steps).
  std::vector<int64_t> end_steps;
  int64_t env_steps = 0;      // counted over rows still running
  int64_t policy_calls = 0;   // Act calls made
  double policy_seconds = 0;  // wall time inside Act
  double total_seconds = 0;   // wall time of the whole rollout

  float Return(int row, int episode) const {
    return returns[static_cast<size_t>(row) * episodes + episode];
  }
};

// Rolls `policy` out on `rows` of `family`. INVALID_ARGUMENT naming the field
// for bad options, an unknown task, or a prompt of the wrong shape; errors
// from the environment or the policy pass through; CANCELLED from the hook.
absl::StatusOr<RolloutResult> RunRollout(const envs::EnvFamily& family,
                                         absl::Span<const RowSpec> rows,
                                         InContextPolicy& policy,
                                         const RolloutOptions& options,
                                         const Prompt* prompt = nullptr,
                                         const RolloutHooks& hooks = {});

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_ROLLOUT_H_
