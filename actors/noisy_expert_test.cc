#include "actors/noisy_expert.h"

#include "actors/source_test_util.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::MeanReturn;
using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

TEST(NoisyExpertTest, EpsilonFallsLinearlyFromOneToZero) {
  NoisyExpertOptions options;
  EXPECT_DOUBLE_EQ(NoisyExpertEpsilon(options, 0, 101), 1.0);
  EXPECT_DOUBLE_EQ(NoisyExpertEpsilon(options, 50, 101), 0.5);
  EXPECT_DOUBLE_EQ(NoisyExpertEpsilon(options, 100, 101), 0.0);
}

// The curve rises from the random policy's return to the optimal one.
TEST(NoisyExpertTest, CurveRisesFromRandomToOptimal) {
  const std::string task = "darkroom/goal=7,2";
  auto noisy = RunSource("noisy_expert", task, /*seed=*/3, TempDir("noisy"));
  ASSERT_TRUE(noisy.ok()) << noisy.status();
  auto random = RunSource("random", task, /*seed=*/3, TempDir("random"));
  ASSERT_TRUE(random.ok()) << random.status();
  const double random_mean = MeanReturn(*random, 0, 200);
  const double first = MeanReturn(*noisy, 0, 10);
  const double middle = MeanReturn(*noisy, 95, 105);
  const double last = MeanReturn(*noisy, 195, 200);
  LOG(INFO) << "random " << random_mean << ", noisy expert first " << first
            << " middle " << middle << " last " << last << ", optimal "
            << noisy->optimal_return;
  EXPECT_LT(first, random_mean + 1.0);
  EXPECT_GT(middle, first);
  EXPECT_GT(last, middle);
  EXPECT_GE(last, 0.95 * noisy->optimal_return);
}

TEST(NoisyExpertTest, ExpertIsOptimalFromTheFirstEpisode) {
  for (const std::string task :
       {"darkroom/goal=0,0", "darkroom/goal=5,8", "darkroom_hard/goal=16,3"}) {
    SCOPED_TRACE(task);
    auto expert = RunSource("expert", task, /*seed=*/1, TempDir("expert"),
                            {"expert.episodes=5"});
    ASSERT_TRUE(expert.ok()) << expert.status();
    EXPECT_DOUBLE_EQ(MeanReturn(*expert, 0, 5), expert->optimal_return);
  }
}

}  // namespace
}  // namespace ad::actors
