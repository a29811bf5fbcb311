#include "actors/ucb.h"

#include "actors/source_test_util.h"
#include "envs/registry.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::MeanReturn;
using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

// Cumulative regret over a 100-pull lifetime, averaged over 32 streams and 4
// train tasks: UCB1 (the test preset's c = 0.3) must stay far below a
// uniformly random player.
TEST(UcbTest, RegretFarBelowRandom) {
  auto family = envs::FindFamily("bandit");
  ASSERT_TRUE(family.ok()) << family.status();
  const envs::TaskSplit split = (*family)->Split(0.5, /*seed=*/0);
  ASSERT_GE(split.train.size(), 4u);
  double ucb_regret = 0, random_regret = 0;
  for (int k = 0; k < 4; ++k) {
    const std::string& task = split.train[k];
    auto ucb = RunSource("ucb", task, /*seed=*/11, TempDir("ucb"));
    ASSERT_TRUE(ucb.ok()) << ucb.status();
    auto random = RunSource("random", task, /*seed=*/11, TempDir("rnd"),
                            {"random.streams=32", "random.episodes=100"});
    ASSERT_TRUE(random.ok()) << random.status();
    const double pulls = 100;
    ucb_regret += pulls * (ucb->optimal_return - MeanReturn(*ucb, 0, 100));
    random_regret +=
        pulls * (random->optimal_return - MeanReturn(*random, 0, 100));
  }
  ucb_regret /= 4;
  random_regret /= 4;
  LOG(INFO) << "regret over 100 pulls: ucb " << ucb_regret << ", random "
            << random_regret;
  EXPECT_GT(random_regret, 0);
  EXPECT_LT(ucb_regret, 0.5 * random_regret);
}

}  // namespace
}  // namespace ad::actors
