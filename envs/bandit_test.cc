#include "envs/bandit.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/rng.h"
#include "envs/env.h"
#include "envs/step_buffers.h"
#include "envs/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;

std::unique_ptr<BatchedEnv> MakeEnv(const std::vector<std::string>& task_ids,
                                    int num_envs, uint64_t seed) {
  return testing::MakeEnv(BanditFamily(), task_ids, num_envs, seed);
}

double FractionWithOddBestArm(const std::vector<std::string>& tasks) {
  int odd = 0;
  for (const std::string& id : tasks) {
    odd += BestBanditArm(BanditArmProbabilities(*ParseBanditTask(id))) % 2;
  }
  return static_cast<double>(odd) / tasks.size();
}

TEST(BanditTest, TrainTasksFavourOddArmsAndTestTasksEvenArms) {
  const TaskSplit split = BanditFamily().Split(/*train_fraction=*/0.5,
                                               /*seed=*/0);
  ASSERT_EQ(split.train.size(), 1000u);
  ASSERT_EQ(split.test.size(), 1000u);
  for (const std::string& id : split.train) {
    EXPECT_THAT(id, HasSubstr("regime=odd"));
  }
  for (const std::string& id : split.test) {
    EXPECT_THAT(id, HasSubstr("regime=even"));
  }
  // Binomial(1000, 0.95) has a standard deviation of 0.7 points.
  EXPECT_NEAR(FractionWithOddBestArm(split.train), 0.95, 0.025);
  EXPECT_NEAR(1 - FractionWithOddBestArm(split.test), 0.95, 0.025);
  // The fraction and seed do not matter.
  const TaskSplit other = BanditFamily().Split(0.1, 99);
  EXPECT_EQ(other.train, split.train);
  EXPECT_EQ(other.test, split.test);
}

TEST(BanditTest, ProbabilitiesAreAFixedFunctionOfTheTask) {
  const BanditTask task{BanditRegime::kEven, 17};
  const std::array<double, kBanditArms> p = BanditArmProbabilities(task);
  EXPECT_EQ(p, BanditArmProbabilities(task));
  EXPECT_NE(p, BanditArmProbabilities({BanditRegime::kEven, 18}));
  EXPECT_NE(p, BanditArmProbabilities({BanditRegime::kOdd, 17}));
  for (double pa : p) EXPECT_TRUE(pa >= 0 && pa < 1);
  EXPECT_EQ(*BanditFamily().OptimalReturn("bandit/regime=even,index=17"),
            p[BestBanditArm(p)]);
}

TEST(BanditTest, EveryPullIsAOneStepEpisodeWithObservationZero) {
  auto env = MakeEnv({"bandit/regime=odd,index=3"}, 8, /*seed=*/1);
  EXPECT_EQ(env->space().episode_len, 1);
  EXPECT_EQ(env->space().obs_dim, 1);
  StepBuffers out(*env);
  std::vector<int32_t> obs(8, -1);
  ASSERT_TRUE(env->Reset(absl::MakeSpan(obs)).ok());
  EXPECT_THAT(obs, Each(0));
  for (int t = 0; t < kBanditTrials; ++t) {
    std::vector<int32_t> actions(8, t % kBanditArms);
    ASSERT_TRUE(env->Step(actions, out.output()).ok());
    EXPECT_THAT(out.dones, Each(1));
    EXPECT_THAT(out.obs, Each(0));
    for (float r : out.rewards) EXPECT_TRUE(r == 0.0f || r == 1.0f);
  }
}

TEST(BanditTest, RewardRatesMatchArmProbabilities) {
  const BanditTask task{BanditRegime::kOdd, 123};
  const std::array<double, kBanditArms> p = BanditArmProbabilities(task);
  const int n = 1000;
  auto env = MakeEnv({FormatBanditTask(task)}, n, /*seed=*/9);
  StepBuffers out(*env);
  for (int arm = 0; arm < kBanditArms; ++arm) {
    double total = 0;
    const int pulls = 4;
    for (int t = 0; t < pulls; ++t) {
      ASSERT_TRUE(env->Step(std::vector<int32_t>(n, arm), out.output()).ok());
      for (float r : out.rewards) total += r;
    }
    const double mean = total / (n * pulls);
    const double sd = std::sqrt(p[arm] * (1 - p[arm]) / (n * pulls));
    EXPECT_NEAR(mean, p[arm], 5 * sd + 1e-9) << "arm " << arm;
  }
}

TEST(BanditTest, ExpertPullsTheBestArm) {
  const std::vector<std::string> tasks = BanditFamily().AllTasks();
  ASSERT_EQ(tasks.size(), 2000u);
  const int n = static_cast<int>(tasks.size());
  auto env = MakeEnv(tasks, n, /*seed=*/0);
  std::vector<int32_t> actions(n);
  ASSERT_TRUE(env->ExpertActions(absl::MakeSpan(actions)).ok());
  for (int i = 0; i < n; ++i) {
    const std::array<double, kBanditArms> p =
        BanditArmProbabilities(*ParseBanditTask(tasks[i]));
    for (int a = 0; a < kBanditArms; ++a) EXPECT_GE(p[actions[i]], p[a]);
  }
}

std::vector<float> PlayRewards(BatchedEnv& env, int steps) {
  StepBuffers out(env);
  SplitMix64 rng(3);
  std::vector<int32_t> actions(env.num_envs());
  std::vector<float> rewards;
  for (int t = 0; t < steps; ++t) {
    for (int32_t& a : actions) a = rng.NextBelow(kBanditArms);
    EXPECT_TRUE(env.Step(actions, out.output()).ok());
    rewards.insert(rewards.end(), out.rewards.begin(), out.rewards.end());
  }
  return rewards;
}

TEST(BanditTest, SameSeedReplaysAndOtherSeedsDiffer) {
  const std::vector<std::string> task = {"bandit/regime=odd,index=0"};
  auto a = MakeEnv(task, 32, /*seed=*/7);
  auto b = MakeEnv(task, 32, /*seed=*/7);
  auto c = MakeEnv(task, 32, /*seed=*/8);
  const std::vector<float> played = PlayRewards(*a, kBanditTrials);
  EXPECT_EQ(played, PlayRewards(*b, kBanditTrials));
  EXPECT_NE(played, PlayRewards(*c, kBanditTrials));
}

TEST(BanditTest, BadStepInputIsRejectedAndChangesNothing) {
  const std::vector<std::string> task = {"bandit/regime=even,index=5"};
  auto env = MakeEnv(task, 3, /*seed=*/4);
  auto twin = MakeEnv(task, 3, /*seed=*/4);
  StepBuffers out(*env);
  absl::Status s = env->Step(std::vector<int32_t>{9, 10, 0}, out.output());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("actions[1] = 10"), HasSubstr("[0, 10)")));
  s = env->Step(std::vector<int32_t>{-3, 0, 0}, out.output());
  EXPECT_THAT(s.message(), HasSubstr("actions[0] = -3"));
  std::vector<int32_t> obs(4);
  s = env->Step(std::vector<int32_t>{0, 0, 0},
                StepOutput{absl::MakeSpan(obs), absl::MakeSpan(out.rewards),
                           absl::MakeSpan(out.dones)});
  EXPECT_THAT(s.message(), HasSubstr("out.obs"));
  // The reward generators did not advance.
  EXPECT_EQ(PlayRewards(*env, 50), PlayRewards(*twin, 50));
}

TEST(BanditTest, TaskIdsRoundTripAndErrorsNameTheField) {
  for (const std::string& id : BanditFamily().AllTasks()) {
    const absl::StatusOr<BanditTask> task = ParseBanditTask(id);
    ASSERT_TRUE(task.ok()) << task.status();
    EXPECT_EQ(FormatBanditTask(*task), id);
  }
  EXPECT_EQ(FormatBanditTask({BanditRegime::kOdd, 17}),
            "bandit/regime=odd,index=17");
  absl::StatusOr<BanditTask> t =
      ParseBanditTask("bandit/regime=odd,index=1000");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(),
              AllOf(HasSubstr("index = 1000"), HasSubstr("[0, 1000)")));
  t = ParseBanditTask("bandit/regime=prime,index=1");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("regime \"prime\""));
  t = ParseBanditTask("bandit/regime=odd");
  EXPECT_THAT(t.status().message(), HasSubstr(",index="));
  t = ParseBanditTask("bandit/regime=even,index=");
  EXPECT_THAT(t.status().message(), HasSubstr("index"));
  EXPECT_EQ(
      BanditFamily().Make({"bandit/regime=odd,index=-1"}, 1, 0).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ad::envs
