// The environment interface: task families with string task ids, and batches
// of seeded, deterministic instances stepped in one call.
//
// An EnvFamily describes one task family (Dark Room, Dark Room Hard, Dark
// Key-to-Door, Adversarial Bandit, Watermaze): its spaces, its full task set,
// its train/test split, each task's optimal return, and it makes BatchedEnvs.
// Families are stateless and thread-safe; they are found by name in the
// registry (envs/registry.h). A BatchedEnv owns N instances and is used from
// one thread at a time; stepping never blocks.
//
// Adding an environment: one file pair implementing EnvFamily and
// BatchedEnv, and one registration line in envs/registry.cc.
#ifndef AD_ENVS_ENV_H_
#define AD_ENVS_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ad::envs {

// Observation and action spaces of a family. Observations are integer
// vectors: grid coordinates, a constant 0 for the bandit, and for Watermaze
// a whole 72x96x3 RGB frame (20736 int32 values in [0, 256)). Frames as
// int32 are a stopgap: the byte wire and store (uint8 observations, see
// envs/watermaze.h's WatermazeEnv::RenderFrames) are a later step.
struct SpaceSpec {
  std::string family;  // "darkroom", "darkroom_hard", "key_to_door", "bandit",
                       // "watermaze"
  int obs_dim = 0;     // int32 values per observation
  std::vector<int32_t> obs_high;  // component i lies in [0, obs_high[i])
  int num_actions = 0;            // actions are 0 .. num_actions-1
  int episode_len = 0;            // steps per episode
  std::string description;        // the rules, for humans
  // Observations travel as bytes on the wire and in the store (pixels):
  // every obs_high[i] <= 256. See ad.v1.SpaceSpec.obs_bytes.
  bool obs_bytes = false;
};

// Where one batched step writes its results; every span has one entry per
// instance (obs: num_envs * obs_dim).
struct StepOutput {
  absl::Span<int32_t> obs;    // observation after the step; for an instance
                              // whose episode ended, the first observation
                              // of its next episode (automatic reset)
  absl::Span<float> rewards;  // reward of this step
  absl::Span<uint8_t> dones;  // 1 when this step ended the episode
};

// N instances of one family, each with its own task, stepped together.
class BatchedEnv {
 public:
  virtual ~BatchedEnv() = default;

  virtual const SpaceSpec& space() const = 0;
  virtual int num_envs() const = 0;
  virtual const std::string& task_id(int i) const = 0;

  // Starts a new episode in every instance and writes the first observations
  // (num_envs * obs_dim values). INVALID_ARGUMENT if `obs` has the wrong size.
  virtual absl::Status Reset(absl::Span<int32_t> obs) = 0;

  // Steps every instance with its action. Validates everything first: on a
  // wrong span size or an action outside [0, num_actions) it returns
  // INVALID_ARGUMENT naming the field and instance, and no instance changes.
  virtual absl::Status Step(absl::Span<const int32_t> actions,
                            const StepOutput& out) = 0;

  // The expert's action for each instance in its current state (the expert
  // knows the task). INVALID_ARGUMENT if `actions` has the wrong size.
  virtual absl::Status ExpertActions(absl::Span<int32_t> actions) const = 0;
};

// The project-wide default split of a family's tasks into train (source RL,
// learner data) and held-out test tasks (evaluation). Every binary uses these
// defaults, so data and evaluation agree unless a user changes both.
inline constexpr double kDefaultTrainFraction = 0.75;
inline constexpr uint64_t kDefaultSplitSeed = 0;

// A deterministic split of a family's task set.
struct TaskSplit {
  std::vector<std::string> train;
  std::vector<std::string> test;
};

// At most `n` of `tasks`, evenly spaced through the list (entry
// floor(i * size / n) for i < n), in order; all of them when n <= 0 or
// n >= size. Every component that subsets a split (the demo's actors, the
// evaluator) uses this one rule, so they pick the same tasks.
std::vector<std::string> EvenlySpacedTasks(std::vector<std::string> tasks,
                                           int n);

class EnvFamily {
 public:
  virtual ~EnvFamily() = default;

  virtual const SpaceSpec& space() const = 0;

  // Every task of the family, in a stable order.
  virtual std::vector<std::string> AllTasks() const = 0;

  // OK if `task_id` names a task of this family; otherwise INVALID_ARGUMENT
  // (malformed) or NOT_FOUND (well-formed but not a task), naming the problem.
  virtual absl::Status ValidateTask(std::string_view task_id) const = 0;

  // Expected return of one episode under the optimal policy.
  virtual absl::StatusOr<double> OptimalReturn(
      std::string_view task_id) const = 0;

  // Deterministic split: the same (train_fraction, seed) always gives the
  // same sets. The bandit ignores the fraction: its train tasks are the
  // odd-arm regime and its test tasks the even-arm regime. Dies if
  // train_fraction is outside [0, 1] (callers validate their options).
  virtual TaskSplit Split(double train_fraction, uint64_t seed) const;

  // A batch of instances: `task_ids` has one entry per instance, or a single
  // entry used for all `num_envs` instances. The same seed always gives the
  // same trajectories for the same actions.
  virtual absl::StatusOr<std::unique_ptr<BatchedEnv>> Make(
      absl::Span<const std::string> task_ids, int num_envs,
      uint64_t seed) const = 0;
};

}  // namespace ad::envs

#endif  // AD_ENVS_ENV_H_
