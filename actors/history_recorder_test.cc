#include "actors/history_recorder.h"

#include "actors/file_sink.h"
#include "actors/source_test_util.h"
#include "envs/registry.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

TEST(HistoryRecorderTest, CutsChunksAndTracksEpisodeReturns) {
  const std::string dir = TempDir("recorder");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  ad::v1::HistoryMeta meta;
  meta.set_history_id("random:darkroom/goal=1,1:seed=0:stream=0");
  meta.set_env("darkroom");
  meta.set_task_id("darkroom/goal=1,1");
  meta.set_source("random");
  meta.set_obs_dim(2);
  meta.set_num_actions(5);
  HistoryRecorder recorder(meta, sink->get(),
                           HistoryRecorder::Options{/*chunk_transitions=*/4});
  const int32_t obs[2] = {4, 4};
  for (int t = 0; t < 10; ++t) {
    ASSERT_TRUE(
        recorder.Record(obs, t % 5, t == 2 ? 1.0f : 0.5f, t % 5 == 4).ok());
  }
  ASSERT_TRUE(recorder.Finish(/*complete=*/true).ok());
  EXPECT_EQ(recorder.Record(obs, 0, 0, false).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(recorder.episode_returns().size(), 2u);
  EXPECT_FLOAT_EQ(recorder.episode_returns()[0], 3.0f);
  EXPECT_FLOAT_EQ(recorder.episode_returns()[1], 2.5f);
  auto h = ReadHistoryFile((*sink)->PathFor(meta.history_id()));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->meta.length(), 10u);
  EXPECT_TRUE(h->meta.complete());
  EXPECT_EQ(h->meta.episode_returns_size(), 2);
}

// Watermaze frames are packed one byte per component on the way to the sink
// and read back as the very frames the env rendered.
TEST(HistoryRecorderTest, PixelFramesTravelAsBytesAndReadBackExactly) {
  const std::string dir = TempDir("recorder_pixels");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  auto family = envs::FindFamily("watermaze");
  ASSERT_TRUE(family.ok());
  const envs::SpaceSpec& space = (*family)->space();
  const std::string task = "watermaze/platform=20,15";
  auto env = (*family)->Make({task}, /*num_envs=*/1, /*seed=*/5);
  ASSERT_TRUE(env.ok()) << env.status();
  ad::v1::HistoryMeta meta;
  meta.set_history_id("random:watermaze:seed=5:stream=0");
  meta.set_env("watermaze");
  meta.set_task_id(task);
  meta.set_source("random");
  meta.set_obs_dim(space.obs_dim);
  meta.set_num_actions(space.num_actions);
  HistoryRecorder recorder(meta, sink->get(),
                           HistoryRecorder::Options{/*chunk_transitions=*/3});
  EXPECT_TRUE(recorder.obs_bytes());
  std::vector<int32_t> obs(space.obs_dim), frames;
  std::vector<float> reward(1);
  std::vector<uint8_t> done(1);
  ASSERT_TRUE((*env)->Reset(absl::MakeSpan(obs)).ok());
  for (int t = 0; t < 7; ++t) {
    frames.insert(frames.end(), obs.begin(), obs.end());
    const int32_t action = t % space.num_actions;
    ASSERT_TRUE(recorder.Record(obs, action, 0.0f, false).ok());
    ASSERT_TRUE((*env)
                    ->Step(absl::MakeConstSpan(&action, 1),
                           {absl::MakeSpan(obs), absl::MakeSpan(reward),
                            absl::MakeSpan(done)})
                    .ok());
  }
  std::vector<int32_t> too_bright = obs;
  too_bright[17] = 256;
  const absl::Status bad = recorder.Record(too_bright, 0, 0.0f, false);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("obs[17] is 256"), std::string::npos) << bad;
  ASSERT_TRUE(recorder.Finish(/*complete=*/true).ok());
  auto h = ReadHistoryFile((*sink)->PathFor(meta.history_id()));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->meta.length(), 7u);
  EXPECT_TRUE(h->meta.complete());
  EXPECT_TRUE(h->transitions.obs_u8().empty());
  EXPECT_EQ(std::vector<int32_t>(h->transitions.obs().begin(),
                                 h->transitions.obs().end()),
            frames);
  // Other families keep int32 observations.
  meta.set_env("darkroom");
  meta.set_obs_dim(2);
  meta.set_num_actions(5);
  EXPECT_FALSE(HistoryRecorder(meta, sink->get(), HistoryRecorder::Options{})
                   .obs_bytes());
}

// Pixel chunks are also cut by size, so that they stay far below gRPC's
// message limit whatever chunk_transitions says.
TEST(HistoryRecorderTest, CutsChunksByObservationBytesToo) {
  const std::string dir = TempDir("recorder_bytes");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  const int dim = (*envs::FindFamily("watermaze"))->space().obs_dim;
  ad::v1::HistoryMeta meta;
  meta.set_history_id("random:watermaze:bytes");
  meta.set_env("watermaze");
  meta.set_task_id("watermaze/platform=20,15");
  meta.set_source("random");
  meta.set_obs_dim(dim);
  meta.set_num_actions(8);
  HistoryRecorder::Options options;
  options.chunk_transitions = 1000;
  options.chunk_obs_bytes = 3 * dim;  // three frames per chunk
  HistoryRecorder recorder(meta, sink->get(), options);
  const std::vector<int32_t> frame(dim, 200);
  for (int t = 0; t < 4; ++t) {
    ASSERT_TRUE(recorder.Record(frame, 1, 0.0f, false).ok());
  }
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(10)).ok());
  // The first three frames went out as a chunk before Finish.
  auto h = ReadHistoryFile((*sink)->PathFor(meta.history_id()));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->meta.length(), 3u);
  EXPECT_FALSE(h->meta.complete());
  options.chunk_obs_bytes = 0;
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
}

// Re-stepping the environment with a recorded history's actions reproduces
// its observations and rewards exactly, for every stream (Key-to-Door has
// random resets, so this checks the seed is recorded correctly).
TEST(HistoryRecorderTest, RecordedHistoryReplaysExactly) {
  for (const auto& [source, task] :
       std::vector<std::pair<std::string, std::string>>{
           {"tabular_q", "darkroom/goal=2,6"},
           {"noisy_expert", "key_to_door/key=1,2;door=7,3"}}) {
    SCOPED_TRACE(task);
    const std::string dir = TempDir("replay");
    auto run = RunSource(source, task, /*seed=*/42, dir,
                         {source + ".streams=4", source + ".episodes=30"},
                         /*chunk_transitions=*/64);
    ASSERT_TRUE(run.ok()) << run.status();
    auto histories = ReadHistoryDirectory(dir);
    ASSERT_TRUE(histories.ok()) << histories.status();
    ASSERT_EQ(histories->size(), 4u);
    for (const RecordedHistory& h : *histories) {
      ASSERT_TRUE(h.meta.complete());
      auto family = envs::FamilyOfTask(h.meta.task_id());
      ASSERT_TRUE(family.ok());
      // The same batch the actor made: instance `stream` of 4 with the seed.
      auto env = (*family)->Make({h.meta.task_id()}, 4, h.meta.seed());
      ASSERT_TRUE(env.ok()) << env.status();
      const int d = static_cast<int>(h.meta.obs_dim());
      const int s = static_cast<int>(h.meta.stream());
      std::vector<int32_t> obs(4 * d), actions(4, 0);
      std::vector<float> rewards(4);
      std::vector<uint8_t> dones(4);
      ASSERT_TRUE((*env)->Reset(absl::MakeSpan(obs)).ok());
      const auto& t = h.transitions;
      for (int k = 0; k < t.actions_size(); ++k) {
        for (int j = 0; j < d; ++j) {
          ASSERT_EQ(obs[s * d + j], t.obs(k * d + j)) << "transition " << k;
        }
        actions[s] = t.actions(k);
        ASSERT_TRUE(
            (*env)
                ->Step(actions, envs::StepOutput{absl::MakeSpan(obs),
                                                 absl::MakeSpan(rewards),
                                                 absl::MakeSpan(dones)})
                .ok());
        ASSERT_EQ(rewards[s], t.rewards(k)) << "transition " << k;
        ASSERT_EQ(dones[s], static_cast<uint8_t>(t.dones()[k]))
            << "transition " << k;
      }
    }
  }
}

}  // namespace
}  // namespace ad::actors
