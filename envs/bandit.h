// Adversarial Bandit (Laskin et al. 2022, section 4.1): 10 Bernoulli arms
// whose best arm is usually odd in training tasks and usually even in test
// tasks, so that a learner evaluated on the test tasks meets rewards out of
// distribution.
//
// Rules: each pull is an episode of its own (episode_len 1, done = 1 on every
// step); a task's lifetime is kBanditTrials pulls, which the caller counts.
// obs_dim 1 and the observation is always 0. Pulling arm a pays 1 with
// probability p_a, else 0, drawn from the instance's generator (seeded from
// (seed, instance index) in Make). Arms are numbered 0..9; the odd arms are
// 1, 3, 5, 7, 9 and the even arms 0, 2, 4, 6, 8.
//
// Task ids: "bandit/regime=odd,index=I" and "bandit/regime=even,index=I" with
// 0 <= I < 1000. The probabilities of a task are a fixed function of (regime,
// index), independent of any seed: p_0..p_9 ~ U(0, 1) from a generator
// seeded by hashing (regime, index); then with probability 0.95 the best arm
// must have the regime's parity, else the other parity; if it does not, its
// probability is swapped with that of a uniformly drawn arm of the required
// parity. Split(): train = the odd regime, test = the even regime (the train
// fraction is ignored). Optimal return per episode = max_a p_a; the expert
// always pulls that arm.
#ifndef AD_ENVS_BANDIT_H_
#define AD_ENVS_BANDIT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envs/env.h"

namespace ad::envs {

inline constexpr int kBanditArms = 10;
inline constexpr int kBanditTrials = 100;           // pulls per task lifetime
inline constexpr int kBanditTasksPerRegime = 1000;  // index in [0, 1000)
inline constexpr double kBanditRegimeBias = 0.95;   // P(best arm in regime)

enum class BanditRegime { kOdd, kEven };

struct BanditTask {
  BanditRegime regime = BanditRegime::kOdd;
  int32_t index = 0;
};

// "bandit/regime=odd,index=17". Dies if the index is out of range.
std::string FormatBanditTask(const BanditTask& task);

// INVALID_ARGUMENT if malformed or the regime is not odd/even, NOT_FOUND if
// the index is out of range.
absl::StatusOr<BanditTask> ParseBanditTask(std::string_view task_id);

// The arm probabilities of a task (deterministic).
std::array<double, kBanditArms> BanditArmProbabilities(const BanditTask& task);

// The arm with the highest probability (the lowest such id on a tie).
int BestBanditArm(const std::array<double, kBanditArms>& probabilities);

class BanditFamily : public EnvFamily {
 public:
  BanditFamily();

  const SpaceSpec& space() const override { return space_; }
  // The odd regime, then the even regime, each by index.
  std::vector<std::string> AllTasks() const override;
  absl::Status ValidateTask(std::string_view task_id) const override;
  absl::StatusOr<double> OptimalReturn(std::string_view task_id) const override;
  TaskSplit Split(double train_fraction, uint64_t seed) const override;
  absl::StatusOr<std::unique_ptr<BatchedEnv>> Make(
      absl::Span<const std::string> task_ids, int num_envs,
      uint64_t seed) const override;

 private:
  SpaceSpec space_;
};

}  // namespace ad::envs

#endif  // AD_ENVS_BANDIT_H_
