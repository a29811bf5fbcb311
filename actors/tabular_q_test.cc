#include "actors/tabular_q.h"

#include "actors/source_test_util.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::MeanReturn;
using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

// The test preset's budget: 8 streams x 200 episodes per goal. Every stream
// is an independent learner. Over the goals, episodes 180..199 of every
// stream average at least 90% of the optimal return; each goal alone at
// least 75% (a stream that finds a far corner late drags its goal down).
TEST(TabularQTest, ReachesNinetyPercentOfOptimalWithin200Episodes) {
  double late_sum = 0, optimal_sum = 0;
  for (const std::string task : {"darkroom/goal=4,4", "darkroom/goal=1,7",
                                 "darkroom/goal=8,0", "darkroom/goal=6,5"}) {
    SCOPED_TRACE(task);
    auto result = RunSource("tabular_q", task, /*seed=*/7, TempDir("tabq"));
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->episode_returns.size(), 8u);
    ASSERT_EQ(result->episode_returns[0].size(), 200u);
    const double late = MeanReturn(*result, 180, 200);
    const double early = MeanReturn(*result, 0, 10);
    LOG(INFO) << task << ": early " << early << " late " << late << " optimal "
              << result->optimal_return;
    EXPECT_GE(late, 0.75 * result->optimal_return);
    EXPECT_LT(early, late);
    late_sum += late;
    optimal_sum += result->optimal_return;
  }
  EXPECT_GE(late_sum, 0.9 * optimal_sum);
}

// Dark Key-to-Door is not Markov in (x, y): whether the key is held is not
// in the observation. Counting the episode's rewarded steps in the state
// (reward_memory 3: none, key, key and door) makes it Markov, and the
// streams then collect most of the optimal 2 per episode late in their
// budget; without the count they cannot (the same cells must lead to the
// key before and to the door after), which bounds what the plain table
// reaches -- the oracle is the family's optimal return.
TEST(TabularQTest, RewardMemoryLearnsKeyToDoor) {
  double with_memory = 0, without = 0, optimal = 0;
  for (const std::string task :
       {"key_to_door/key=1,7;door=7,2", "key_to_door/key=5,5;door=0,0"}) {
    SCOPED_TRACE(task);
    auto remembered =
        RunSource("tabular_q", task, /*seed=*/3, TempDir("tabq_k2d"),
                  {"tabular_q.reward_memory=3", "tabular_q.episodes=400"});
    ASSERT_TRUE(remembered.ok()) << remembered.status();
    auto plain = RunSource("tabular_q", task, /*seed=*/3, TempDir("tabq_k2d"),
                           {"tabular_q.episodes=400"});
    ASSERT_TRUE(plain.ok()) << plain.status();
    with_memory += MeanReturn(*remembered, 350, 400);
    without += MeanReturn(*plain, 350, 400);
    optimal += remembered->optimal_return;
    LOG(INFO) << task << ": late return with memory "
              << MeanReturn(*remembered, 350, 400) << ", without "
              << MeanReturn(*plain, 350, 400) << ", optimal "
              << remembered->optimal_return;
  }
  EXPECT_GE(with_memory, 0.8 * optimal);
  EXPECT_GT(with_memory, without + 0.1 * optimal);
}

TEST(TabularQTest, RejectsOutOfRangeParameters) {
  SourceParams params;
  ASSERT_TRUE(params.Override("tabular_q.discount=1.5").ok());
  auto options = TabularQOptions::FromParams(params);
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.status().message().find("tabular_q.discount"),
            std::string::npos);
  SourceParams memory;
  ASSERT_TRUE(memory.Override("tabular_q.reward_memory=-1").ok());
  auto bad_memory = TabularQOptions::FromParams(memory);
  EXPECT_EQ(bad_memory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_memory.status().message().find("tabular_q.reward_memory"),
            std::string::npos);
}

}  // namespace
}  // namespace ad::actors
