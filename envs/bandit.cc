#include "envs/bandit.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "envs/batch_checks.h"
#include "envs/env.h"
#include "envs/task_id.h"
#include "glog/logging.h"

namespace ad::envs {
namespace {

constexpr char kFamily[] = "bandit";
constexpr char kTaskForm[] = "bandit/regime=odd|even,index=I";
// Salt of the task hash: changing it changes every task.
constexpr uint64_t kTaskSalt = 0xad0bad17a5b1e5edULL;

const char* RegimeName(BanditRegime regime) {
  return regime == BanditRegime::kOdd ? "odd" : "even";
}

// N bandit instances; the arm probabilities are one flat array.
class BanditEnv final : public BatchedEnv {
 public:
  BanditEnv(SpaceSpec space, std::vector<std::string> task_ids,
            const std::vector<BanditTask>& tasks, uint64_t seed)
      : space_(std::move(space)), task_ids_(std::move(task_ids)) {
    const size_t n = tasks.size();
    probabilities_.resize(n * kBanditArms);
    best_arm_.resize(n);
    rngs_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const std::array<double, kBanditArms> p =
          (i > 0 && tasks[i].regime == tasks[i - 1].regime &&
           tasks[i].index == tasks[i - 1].index)
              ? Probabilities(i - 1)
              : BanditArmProbabilities(tasks[i]);
      std::copy(p.begin(), p.end(), probabilities_.begin() + i * kBanditArms);
      best_arm_[i] = BestBanditArm(p);
      rngs_.emplace_back(InstanceSeed(seed, i));
    }
  }

  const SpaceSpec& space() const override { return space_; }
  int num_envs() const override { return static_cast<int>(best_arm_.size()); }
  const std::string& task_id(int i) const override { return task_ids_.at(i); }

  absl::Status Reset(absl::Span<int32_t> obs) override {
    AD_RETURN_IF_ERROR(CheckSpanSize("obs (num_envs * obs_dim)", obs.size(),
                                     best_arm_.size()));
    std::fill(obs.begin(), obs.end(), 0);
    return absl::OkStatus();
  }

  absl::Status Step(absl::Span<const int32_t> actions,
                    const StepOutput& out) override {
    AD_RETURN_IF_ERROR(CheckStepArgs(space_, num_envs(), actions, out));
    for (size_t i = 0; i < best_arm_.size(); ++i) {
      const double p = probabilities_[i * kBanditArms + actions[i]];
      out.rewards[i] = rngs_[i].NextUnit() < p ? 1.0f : 0.0f;
      out.obs[i] = 0;
      out.dones[i] = 1;
    }
    return absl::OkStatus();
  }

  absl::Status ExpertActions(absl::Span<int32_t> actions) const override {
    AD_RETURN_IF_ERROR(CheckSpanSize("actions (one per instance)",
                                     actions.size(), best_arm_.size()));
    std::copy(best_arm_.begin(), best_arm_.end(), actions.begin());
    return absl::OkStatus();
  }

 private:
  std::array<double, kBanditArms> Probabilities(size_t i) const {
    std::array<double, kBanditArms> p;
    std::copy_n(probabilities_.begin() + i * kBanditArms, kBanditArms,
                p.begin());
    return p;
  }

  const SpaceSpec space_;
  const std::vector<std::string> task_ids_;
  std::vector<double> probabilities_;  // num_envs x kBanditArms, row-major
  std::vector<int32_t> best_arm_;
  std::vector<SplitMix64> rngs_;  // draws rewards
};

}  // namespace

std::string FormatBanditTask(const BanditTask& task) {
  CHECK(task.index >= 0 && task.index < kBanditTasksPerRegime)
      << "bandit task index " << task.index << " is out of range";
  return absl::StrCat(kFamily, "/regime=", RegimeName(task.regime),
                      ",index=", task.index);
}

absl::StatusOr<BanditTask> ParseBanditTask(std::string_view task_id) {
  TaskIdReader reader(task_id, kTaskForm);
  AD_RETURN_IF_ERROR(reader.Literal(absl::StrCat(kFamily, "/regime=")));
  AD_ASSIGN_OR_RETURN(const std::string_view regime, reader.Word("regime"));
  BanditTask task;
  if (regime == "odd") {
    task.regime = BanditRegime::kOdd;
  } else if (regime == "even") {
    task.regime = BanditRegime::kEven;
  } else {
    return absl::InvalidArgumentError(absl::StrFormat(
        "malformed task id \"%s\" (expected \"%s\"): regime \"%s\" is not "
        "\"odd\" or \"even\"",
        EscapeForMessage(task_id), kTaskForm, regime));
  }
  AD_RETURN_IF_ERROR(reader.Literal(",index="));
  AD_ASSIGN_OR_RETURN(task.index, reader.Int("index"));
  AD_RETURN_IF_ERROR(reader.End());
  AD_RETURN_IF_ERROR(
      CheckTaskRange(task_id, "index", task.index, 0, kBanditTasksPerRegime));
  return task;
}

std::array<double, kBanditArms> BanditArmProbabilities(const BanditTask& task) {
  const uint64_t regime_bit = task.regime == BanditRegime::kOdd ? 1 : 0;
  SplitMix64 rng(
      Mix64(Mix64(kTaskSalt + regime_bit) + static_cast<uint64_t>(task.index)));
  std::array<double, kBanditArms> p;
  for (double& pa : p) pa = rng.NextUnit();

  const int regime_parity = regime_bit;  // 1: odd arms, 0: even arms
  const int parity =
      rng.NextUnit() < kBanditRegimeBias ? regime_parity : 1 - regime_parity;
  const int best = BestBanditArm(p);
  if (best % 2 != parity) {
    // Arms of `parity` are parity, parity + 2, ...: kBanditArms / 2 of them.
    const int target =
        parity + 2 * static_cast<int>(rng.NextBelow(kBanditArms / 2));
    std::swap(p[best], p[target]);
  }
  return p;
}

int BestBanditArm(const std::array<double, kBanditArms>& probabilities) {
  int best = 0;
  for (int a = 1; a < kBanditArms; ++a) {
    if (probabilities[a] > probabilities[best]) best = a;
  }
  return best;
}

BanditFamily::BanditFamily() {
  space_.family = kFamily;
  space_.obs_dim = 1;
  space_.obs_high = {1};
  space_.num_actions = kBanditArms;
  space_.episode_len = 1;
  space_.description = absl::StrFormat(
      "%d-armed Bernoulli bandit; each pull is a one-step episode (done = 1 "
      "every step) and a task's lifetime is %d pulls; observation always 0; "
      "action a (0..%d) pulls arm a and pays 1 with probability p_a, else 0; "
      "the best arm is odd (1,3,5,7,9) in %.0f%% of regime=odd tasks (train) "
      "and even (0,2,4,6,8) in %.0f%% of regime=even tasks (test)",
      kBanditArms, kBanditTrials, kBanditArms - 1, 100 * kBanditRegimeBias,
      100 * kBanditRegimeBias);
}

std::vector<std::string> BanditFamily::AllTasks() const {
  std::vector<std::string> tasks;
  tasks.reserve(2 * kBanditTasksPerRegime);
  for (BanditRegime regime : {BanditRegime::kOdd, BanditRegime::kEven}) {
    for (int32_t i = 0; i < kBanditTasksPerRegime; ++i) {
      tasks.push_back(FormatBanditTask({regime, i}));
    }
  }
  return tasks;
}

absl::Status BanditFamily::ValidateTask(std::string_view task_id) const {
  return ParseBanditTask(task_id).status();
}

absl::StatusOr<double> BanditFamily::OptimalReturn(
    std::string_view task_id) const {
  AD_ASSIGN_OR_RETURN(const BanditTask task, ParseBanditTask(task_id));
  const std::array<double, kBanditArms> p = BanditArmProbabilities(task);
  return p[BestBanditArm(p)];
}

TaskSplit BanditFamily::Split(double train_fraction, uint64_t seed) const {
  CHECK(train_fraction >= 0.0 && train_fraction <= 1.0)
      << "train_fraction = " << train_fraction << " is outside [0, 1]";
  TaskSplit split;
  for (int32_t i = 0; i < kBanditTasksPerRegime; ++i) {
    split.train.push_back(FormatBanditTask({BanditRegime::kOdd, i}));
    split.test.push_back(FormatBanditTask({BanditRegime::kEven, i}));
  }
  return split;
}

absl::StatusOr<std::unique_ptr<BatchedEnv>> BanditFamily::Make(
    absl::Span<const std::string> task_ids, int num_envs, uint64_t seed) const {
  AD_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                      ExpandTaskIds(task_ids, num_envs));
  AD_ASSIGN_OR_RETURN(std::vector<BanditTask> tasks,
                      ParseTaskIds<BanditTask>(ids, ParseBanditTask));
  return std::make_unique<BanditEnv>(space_, std::move(ids), tasks, seed);
}

}  // namespace ad::envs
