#include "actors/dqn.h"

#include "actors/source_test_util.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::MeanReturn;
using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

// The test preset's budget: 8 streams sharing one Q-network, 100 episodes,
// Q(lambda = 0.75) over 20-step sequences, epsilon 1 -> 0.01 over the first
// 50 episodes. Episodes 90..99 average >= 80% of the optimal return.
TEST(DqnTest, LearnsDarkRoom) {
  double late_sum = 0, optimal_sum = 0;
  for (const std::string task : {"darkroom/goal=8,0", "darkroom/goal=2,7"}) {
    SCOPED_TRACE(task);
    auto result = RunSource("dqn", task, /*seed=*/4, TempDir("dqn"));
    ASSERT_TRUE(result.ok()) << result.status();
    const double early = MeanReturn(*result, 0, 10);
    const double late = MeanReturn(*result, 90, 100);
    LOG(INFO) << task << ": episodes 0-9 " << early << ", 90-99 " << late
              << ", optimal " << result->optimal_return;
    EXPECT_LT(early, 0.3 * result->optimal_return);
    late_sum += late;
    optimal_sum += result->optimal_return;
  }
  EXPECT_GE(late_sum, 0.8 * optimal_sum);
}

TEST(DqnTest, RejectsOverlapNotBelowSequenceLength) {
  SourceParams params;
  ASSERT_TRUE(params.Override("dqn.sequence_len=10").ok());
  ASSERT_TRUE(params.Override("dqn.sequence_overlap=10").ok());
  EXPECT_EQ(DqnOptions::FromParams(params).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ad::actors
