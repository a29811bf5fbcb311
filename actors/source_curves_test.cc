#include "actors/source_curves.h"

#include "actors/source_test_util.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

TEST(SourceCurvesTest, NoisyExpertCurveRisesAndCountsSteps) {
  const std::string dir = TempDir("curves");
  ASSERT_TRUE(RunSource("noisy_expert", "darkroom/goal=6,1", 1, dir,
                        {"noisy_expert.streams=4", "noisy_expert.episodes=50"})
                  .ok());
  ASSERT_TRUE(RunSource("expert", "darkroom/goal=6,1", 1, dir,
                        {"expert.streams=2", "expert.episodes=50"})
                  .ok());
  auto histories = ReadHistoryDirectory(dir);
  ASSERT_TRUE(histories.ok());
  auto curves = SourceCurves(*histories, CurveFilter{});
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 2u);
  const auto& noisy = curves->at("noisy_expert");
  ASSERT_EQ(noisy.size(), 50u);
  EXPECT_EQ(noisy[0].histories, 4);
  EXPECT_DOUBLE_EQ(noisy[9].env_steps, 200);  // 10 episodes of 20 steps
  EXPECT_LT(noisy[0].mean_return, noisy[49].mean_return);
  EXPECT_DOUBLE_EQ(curves->at("expert")[0].mean_return,
                   curves->at("expert")[0].optimal_return);
  const std::string csv = CurvesToCsv(*curves);
  EXPECT_EQ(csv.rfind("source,episode,mean_return,std_return,env_steps,", 0),
            0u);
  CurveFilter only_expert;
  only_expert.source = "expert";
  EXPECT_EQ(SourceCurves(*histories, only_expert)->size(), 1u);
}

}  // namespace
}  // namespace ad::actors
