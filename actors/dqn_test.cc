#include "actors/dqn.h"

#include <string>
#include <vector>

#include "actors/source_test_util.h"
#include "actors/torch_util.h"
#include "envs/registry.h"
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

// Options errors name the key at fault.
void ExpectRejectedNaming(const std::string& override_text,
                          const std::string& key) {
  SCOPED_TRACE(override_text);
  SourceParams params;
  ASSERT_TRUE(params.Override(override_text).ok());
  absl::Status status = DqnOptions::FromParams(params).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find(key), std::string::npos) << status;
}

TEST(DqnTest, RejectsBadTorsoOptionsNamingTheKey) {
  ExpectRejectedNaming("dqn.torso=resnet", "dqn.torso");
  ExpectRejectedNaming("dqn.conv_channels=32,x", "dqn.conv_channels");
  ExpectRejectedNaming("dqn.conv_channels=32,0,64", "dqn.conv_channels");
  ExpectRejectedNaming("dqn.conv_kernel=0", "dqn.conv_kernel");
  ExpectRejectedNaming("dqn.pool_stride=0", "dqn.pool_stride");
  ExpectRejectedNaming("dqn.conv_res_blocks=9", "dqn.conv_res_blocks");
  ExpectRejectedNaming("dqn.pixel_downsample=0", "dqn.pixel_downsample");
}

// The torso has to fit the environment's observations; a mismatch is an
// error naming the key, whichever way round it is.
TEST(DqnTest, RejectsATorsoThatDoesNotFitTheObservations) {
  auto expect = [](const std::string& task,
                   const std::vector<std::string>& overrides,
                   const std::string& key) {
    SCOPED_TRACE(task);
    auto result =
        RunSource("dqn", task, /*seed=*/1, TempDir("dqn_bad"), overrides);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find(key), std::string::npos)
        << result.status();
  };
  expect("watermaze/platform=20,15", {}, "dqn.torso");  // mlp on pixels
  expect("darkroom/goal=8,0", {"dqn.torso=conv"}, "dqn.torso");
  expect("watermaze/platform=20,15",
         {"dqn.torso=conv", "dqn.pixel_downsample=5"}, "dqn.pixel_downsample");
}

// Runs dqn (the `test` preset plus `overrides`) on `streams` instances of a
// Watermaze task for `episodes` episodes, without recording (a frame is
// 20736 int32 values on today's wire); returns each episode's return
// averaged over the streams.
absl::StatusOr<std::vector<double>> WatermazeReturns(
    const std::string& task, int streams, int episodes, uint64_t seed,
    const std::vector<std::string>& overrides) {
  SetComputeThreads(1);
  AD_ASSIGN_OR_RETURN(SourceParams params, SourceParams::LoadPreset("test"));
  for (const std::string& o : overrides) AD_RETURN_IF_ERROR(params.Override(o));
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FindFamily("watermaze"));
  const std::vector<std::string> ids = {task};
  AD_ASSIGN_OR_RETURN(std::unique_ptr<envs::BatchedEnv> env,
                      family->Make(ids, streams, seed));
  TaskSpec spec;
  spec.space = family->space();
  spec.task_id = task;
  spec.num_streams = streams;
  spec.episodes_per_stream = episodes;
  spec.seed = seed;
  AD_ASSIGN_OR_RETURN(std::unique_ptr<SourceAgent> agent,
                      MakeDqnAgent(spec, params));
  const size_t frame = static_cast<size_t>(spec.space.obs_dim);
  std::vector<int32_t> obs(streams * frame), next(streams * frame);
  std::vector<int32_t> actions(streams);
  std::vector<float> rewards(streams);
  std::vector<uint8_t> dones(streams);
  AD_RETURN_IF_ERROR(env->Reset(absl::MakeSpan(obs)));
  std::vector<double> returns(episodes, 0.0);
  for (int e = 0; e < episodes; ++e) {
    for (int t = 0; t < spec.space.episode_len; ++t) {
      AD_RETURN_IF_ERROR(agent->Act(obs, {}, absl::MakeSpan(actions)));
      AD_RETURN_IF_ERROR(env->Step(
          actions,
          envs::StepOutput{absl::MakeSpan(next), absl::MakeSpan(rewards),
                           absl::MakeSpan(dones)}));
      AD_RETURN_IF_ERROR(
          agent->Observe(StepView{obs, actions, rewards, dones, next}));
      for (float r : rewards) returns[e] += r / streams;
      obs.swap(next);
    }
  }
  return returns;
}

double Mean(const std::vector<double>& v, int begin, int end) {
  double sum = 0;
  for (int i = begin; i < end; ++i) sum += v[i];
  return sum / (end - begin);
}

// The conv torso learns from pixels: a small torso ([8, 16] channels) on
// 12 x 16 frames (6x downsampled), 16 streams sharing one learner, the
// `test` preset's DQN (batch 16 x 20-step sequences, lr 1e-3, an update
// every 2 steps: ~1000 updates), on the nearest kind of platform (0.25 pool
// radii east: two moves from the start; optimal return 49). Seeds 1-4
// measured: episodes 0-4 at 1.5-2.7, episodes 35-39 at 38-46 (~30 s each on
// the loaded 2-core machine).
TEST(DqnTest, ConvTorsoLearnsAWatermazeTask) {
  const std::string task = "watermaze/platform=20,15";
  auto returns = WatermazeReturns(
      task, /*streams=*/16, /*episodes=*/40, /*seed=*/3,
      {"dqn.torso=conv", "dqn.pixel_downsample=6", "dqn.conv_channels=8,16",
       "dqn.conv_res_blocks=0", "dqn.hidden=64", "dqn.layers=1"});
  ASSERT_TRUE(returns.ok()) << returns.status();
  auto family = envs::FindFamily("watermaze");
  ASSERT_TRUE(family.ok());
  const double optimal = *(*family)->OptimalReturn(task);
  const double early = Mean(*returns, 0, 5);
  const double late = Mean(*returns, 35, 40);
  std::string curve;
  for (double r : *returns) curve += " " + std::to_string(r).substr(0, 4);
  LOG(INFO) << task << ": episodes 0-4 " << early << ", 35-39 " << late
            << ", optimal " << optimal << "; per episode:" << curve;
  EXPECT_LT(early, 0.2 * optimal);
  EXPECT_GE(late, 0.5 * optimal);
  EXPECT_GE(late, 3 * early);
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
