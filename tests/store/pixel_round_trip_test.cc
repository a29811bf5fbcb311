// Pixels end to end through the services, the path Watermaze data takes:
// ad-env-server (frames sent as StepBatch.obs_u8) -> RemoteBatchedEnv ->
// the actor's HistoryRecorder (chunks packed as obs_u8) -> StoreSink ->
// ad-store (byte chunks in RocksDB) -> SampleWindows (obs_u8) -> the
// learner's StoreWindowSource. Every window the learner gets must equal, value
// for value, the frames the actor saw at that history and step. Real gRPC on
// loopback ports, a real RocksDB store.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "actors/history_recorder.h"
#include "envs/registry.h"
#include "services/common/test_server.h"
#include "services/env/env_service.h"
#include "services/env/remote_env.h"
#include "services/learner/store_window_source.h"
#include "services/store/store_sink.h"
#include "services/store/store_test_util.h"

namespace ad::services {
namespace {

TEST(PixelRoundTripTest, FramesReachTheLearnerExactlyAsTheActorSawThem) {
  // The env server, in process, on a free loopback port.
  auto registry = std::make_shared<prometheus::Registry>();
  EnvServiceImpl env_service(EnvServiceImpl::Options(), *registry);
  auto env_server = StartTestServer("env-test", &env_service);
  ASSERT_TRUE(env_server.ok()) << env_server.status();
  store::testing::InProcessStore store;

  const std::vector<std::string> tasks = {"watermaze/platform=20,15",
                                          "watermaze/platform=8,22"};
  auto env = MakeEnv((*env_server)->address(), "watermaze", tasks,
                     /*num_envs=*/2, /*seed=*/9);
  ASSERT_TRUE(env.ok()) << env.status();
  const envs::SpaceSpec& space = (*env)->space();
  ASSERT_TRUE(space.obs_bytes);
  const size_t dim = static_cast<size_t>(space.obs_dim);

  store::StoreSink::Options sink_options;
  sink_options.address = store.address();
  auto sink = store::StoreSink::Create(sink_options);
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<std::unique_ptr<actors::HistoryRecorder>> recorders;
  std::map<std::string, std::vector<int32_t>> seen;  // history -> frames
  for (int i = 0; i < 2; ++i) {
    ad::v1::HistoryMeta meta;
    meta.set_history_id(absl::StrCat("random:", tasks[i], ":stream=", i));
    meta.set_env("watermaze");
    meta.set_task_id(tasks[i]);
    meta.set_source("random");
    meta.set_split("train");
    meta.set_stream(i);
    meta.set_obs_dim(space.obs_dim);
    meta.set_num_actions(space.num_actions);
    recorders.push_back(std::make_unique<actors::HistoryRecorder>(
        meta, sink->get(),
        actors::HistoryRecorder::Options{/*chunk_transitions=*/16}));
  }

  // 60 steps of both instances (one episode boundary) with random actions.
  std::vector<int32_t> obs(2 * dim), actions(2);
  std::vector<float> rewards(2);
  std::vector<uint8_t> dones(2);
  ASSERT_TRUE((*env)->Reset(absl::MakeSpan(obs)).ok());
  std::mt19937 rng(4);
  for (int step = 0; step < 60; ++step) {
    for (int32_t& a : actions) a = static_cast<int32_t>(rng() % 8);
    const std::vector<int32_t> before = obs;
    ASSERT_TRUE(
        (*env)
            ->Step(actions, {absl::MakeSpan(obs), absl::MakeSpan(rewards),
                             absl::MakeSpan(dones)})
            .ok());
    for (int i = 0; i < 2; ++i) {
      const auto frame = absl::MakeConstSpan(before).subspan(i * dim, dim);
      auto& frames = seen[recorders[i]->meta().history_id()];
      frames.insert(frames.end(), frame.begin(), frame.end());
      ASSERT_TRUE(
          recorders[i]->Record(frame, actions[i], rewards[i], dones[i]).ok());
    }
  }
  for (auto& r : recorders) ASSERT_TRUE(r->Finish(/*complete=*/true).ok());
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(30)).ok());

  learner::StoreWindowSource::Options options;
  options.client.address = store.address();
  options.request.window_len = 12;
  options.request.batch_size = 6;
  options.data.env = "watermaze";
  options.data.min_transitions = 120;
  auto source = learner::StoreWindowSource::Create(options);
  ASSERT_TRUE(source.ok()) << source.status();
  for (int batch = 0; batch < 3; ++batch) {
    auto windows = (*source)->Next(absl::Now() + absl::Seconds(30));
    ASSERT_TRUE(windows.ok()) << windows.status();
    ASSERT_EQ(windows->obs_dim, space.obs_dim);
    ASSERT_EQ(windows->obs.size(), 6 * 12 * dim);
    for (int w = 0; w < 6; ++w) {
      const std::vector<int32_t>& frames = seen.at(windows->history_ids[w]);
      const size_t at = windows->starts[w] * dim;
      ASSERT_LE(at + 12 * dim, frames.size());
      EXPECT_TRUE(std::equal(frames.begin() + at,
                             frames.begin() + at + 12 * dim,
                             windows->obs.begin() + w * 12 * dim))
          << "batch " << batch << " window " << w << " of "
          << windows->history_ids[w] << " at " << windows->starts[w];
    }
  }
  (*source)->Cancel();
  (*env_server)->Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace ad::services
