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

TEST(TabularQTest, RejectsOutOfRangeParameters) {
  SourceParams params;
  ASSERT_TRUE(params.Override("tabular_q.discount=1.5").ok());
  auto options = TabularQOptions::FromParams(params);
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.status().message().find("tabular_q.discount"),
            std::string::npos);
}

}  // namespace
}  // namespace ad::actors
