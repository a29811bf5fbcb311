#include "storage/window_sampler.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "storage/test_util.h"

namespace ad::storage {
namespace {

using testing::MakeMeta;
using testing::MakeTransitions;
using testing::TempDir;

class WindowSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TrajectoryStore::Options options;
    options.path = dir_.path();
    options.block_cache_bytes = 16 << 20;
    options.write_buffer_bytes = 4 << 20;
    options.chunk_cache_bytes = 1 << 20;
    auto store = TrajectoryStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
  }

  // Appends history `id` (tag = obs[0]) of `length` transitions in chunks of
  // `chunk`, episodes of `episode_len`.
  void AddHistory(const std::string& id, int tag, uint64_t length,
                  HistoryRecord meta, uint64_t chunk = 64,
                  uint64_t episode_len = 10, bool final = true) {
    meta.history_id = id;
    uint64_t seq = 0;
    for (uint64_t at = 0; at < length; at += chunk, ++seq) {
      const uint64_t n = std::min(chunk, length - at);
      const Transitions t = MakeTransitions(tag, at, n, episode_len);
      TrajectoryStore::AppendRequest request;
      request.history_id = id;
      request.seq = seq;
      request.meta = &meta;
      request.chunk = t.view();
      request.final = final && at + n == length;
      auto result = store_->Append(request);
      ASSERT_TRUE(result.ok()) << result.status();
    }
  }

  std::unique_ptr<WindowSampler> Sampler(WindowSampler::Options options) {
    auto sampler = WindowSampler::Create(store_.get(), options);
    CHECK(sampler.ok()) << sampler.status();
    return std::move(sampler).value();
  }

  static absl::Status Ready(WindowSampler& sampler) {
    return sampler.WaitUntilReady(0, absl::Now() + absl::Seconds(1),
                                  [] { return false; });
  }

  TempDir dir_;
  std::unique_ptr<TrajectoryStore> store_;
};

// obs = {tag, t}: window w must be one history's consecutive transitions.
void ExpectContiguousWindows(const WindowBatch& batch) {
  const auto& obs = batch.transitions.obs;
  for (uint32_t w = 0; w < batch.batch_size; ++w) {
    const size_t row = static_cast<size_t>(w) * batch.window_len;
    const int tag = obs[2 * row];
    EXPECT_EQ(obs[2 * row + 1], static_cast<int>(batch.starts[w]));
    for (uint32_t t = 1; t < batch.window_len; ++t) {
      ASSERT_EQ(obs[2 * (row + t)], tag) << "window " << w << " crosses";
      ASSERT_EQ(obs[2 * (row + t) + 1], obs[2 * row + 1] + static_cast<int>(t));
    }
  }
}

TEST_F(WindowSamplerTest, NeverCrossesHistoryBoundary) {
  // Short histories, many chunk boundaries.
  for (int h = 0; h < 6; ++h) {
    AddHistory(absl::StrCat("h", h), h, 30 + 7 * h, MakeMeta(""),
               /*chunk=*/9);
  }
  WindowSampler::Options options;
  options.window_len = 30;
  options.batch_size = 256;
  auto sampler = Sampler(options);
  ASSERT_TRUE(Ready(*sampler).ok());
  WindowBatch batch;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(sampler->Next(&batch).ok());
    ASSERT_EQ(batch.transitions.size(), 256u * 30);
    ExpectContiguousWindows(batch);
    for (uint32_t w = 0; w < batch.batch_size; ++w) {
      const int tag = batch.transitions.obs[2 * w * 30];
      EXPECT_EQ(batch.history_ids[w], absl::StrCat("h", tag));
      EXPECT_LE(batch.starts[w] + 30, 30u + 7 * tag);
    }
  }
}

TEST_F(WindowSamplerTest, UniformOverValidStarts) {
  AddHistory("short", 0, 100, MakeMeta(""));
  AddHistory("long", 1, 300, MakeMeta(""));
  WindowSampler::Options options;
  options.window_len = 50;
  options.batch_size = 1000;
  auto sampler = Sampler(options);
  WindowBatch batch;
  int from_short = 0;
  std::vector<int> start_counts(251, 0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(sampler->Next(&batch).ok());
    for (uint32_t w = 0; w < batch.batch_size; ++w) {
      if (batch.history_ids[w] == "short") {
        ++from_short;
      } else {
        ++start_counts[batch.starts[w]];
      }
    }
  }
  // 51 of 302 valid starts lie in "short".
  EXPECT_NEAR(from_short / 20000.0, 51.0 / 302, 0.015);
  // Both ends of "long" are reachable.
  EXPECT_GT(start_counts[0], 0);
  EXPECT_GT(start_counts[250], 0);
}

TEST_F(WindowSamplerTest, SameSeedSameWindows) {
  AddHistory("a", 0, 200, MakeMeta(""));
  AddHistory("b", 1, 200, MakeMeta(""));
  WindowSampler::Options options;
  options.window_len = 20;
  options.batch_size = 16;
  options.seed = 7;
  auto first = Sampler(options);
  auto second = Sampler(options);
  options.seed = 8;
  auto other = Sampler(options);
  WindowBatch x, y, z;
  ASSERT_TRUE(first->Next(&x).ok());
  ASSERT_TRUE(second->Next(&y).ok());
  ASSERT_TRUE(other->Next(&z).ok());
  EXPECT_EQ(x.starts, y.starts);
  EXPECT_EQ(x.history_ids, y.history_ids);
  EXPECT_EQ(x.transitions.obs, y.transitions.obs);
  EXPECT_NE(x.starts, z.starts);

  // Resuming at batch 3 repeats the uninterrupted sampler's batch 3.
  options.seed = 7;
  options.first_batch = 3;
  auto resumed = Sampler(options);
  ASSERT_TRUE(first->Next(&x).ok());  // batch 1
  ASSERT_TRUE(first->Next(&x).ok());  // batch 2
  ASSERT_TRUE(first->Next(&x).ok());  // batch 3
  ASSERT_TRUE(resumed->Next(&y).ok());
  EXPECT_EQ(x.starts, y.starts);
  EXPECT_EQ(x.history_ids, y.history_ids);
}

TEST_F(WindowSamplerTest, NeverSamplesHeldOutTasks) {
  AddHistory("train", 0, 100, MakeMeta("", "darkroom/goal=1,1"));
  AddHistory("test", 1, 100, MakeMeta("", "darkroom/goal=2,2", kTestSplit));
  WindowSampler::Options options;
  options.window_len = 10;
  options.batch_size = 500;
  auto sampler = Sampler(options);
  WindowBatch batch;
  ASSERT_TRUE(sampler->Next(&batch).ok());
  for (const std::string& id : batch.history_ids) EXPECT_EQ(id, "train");

  // Naming the held-out task in a train filter is an error, not a filter.
  options.filter.task_ids = {"darkroom/goal=1,1", "darkroom/goal=2,2"};
  auto leaky = Sampler(options);
  absl::Status status = Ready(*leaky);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("darkroom/goal=2,2"), std::string::npos);
  EXPECT_EQ(leaky->Next(&batch).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WindowSamplerTest, FiltersByTaskSourceAndCompleteness) {
  AddHistory("a", 0, 100, MakeMeta("", "darkroom/goal=1,1"));
  AddHistory("b", 1, 100, MakeMeta("", "darkroom/goal=2,2"));
  AddHistory("c", 2, 100,
             MakeMeta("", "darkroom/goal=2,2", kTrainSplit, "dqn"));
  AddHistory("d", 3, 100, MakeMeta("", "darkroom/goal=2,2"), 64, 10,
             /*final=*/false);
  WindowSampler::Options options;
  options.window_len = 10;
  options.batch_size = 300;
  options.filter.task_ids = {"darkroom/goal=2,2"};
  options.filter.source = "a3c";
  options.filter.complete_only = true;
  auto sampler = Sampler(options);
  WindowBatch batch;
  ASSERT_TRUE(sampler->Next(&batch).ok());
  for (const std::string& id : batch.history_ids) EXPECT_EQ(id, "b");
}

TEST_F(WindowSamplerTest, SubsamplingKeepsWholeEpisodes) {
  // Episodes of 10 steps: episode e holds t in [10e, 10e + 10). The last
  // episode (t 200..204) is unfinished and must never appear.
  AddHistory("h", 0, 205, MakeMeta(""), /*chunk=*/13);
  WindowSampler::Options options;
  options.window_len = 25;
  options.batch_size = 200;
  options.episode_stride = 3;  // keeps episodes 0, 3, 6, ..., 18
  auto sampler = Sampler(options);
  ASSERT_TRUE(Ready(*sampler).ok());
  EXPECT_EQ(sampler->matching_transitions(), 70u);
  WindowBatch batch;
  ASSERT_TRUE(sampler->Next(&batch).ok());
  for (uint32_t w = 0; w < batch.batch_size; ++w) {
    const size_t row = static_cast<size_t>(w) * 25;
    int prev = -1;
    for (uint32_t t = 0; t < 25; ++t) {
      const int step = batch.transitions.obs[2 * (row + t) + 1];
      const int episode = step / 10;
      ASSERT_EQ(episode % 3, 0) << "step " << step << " of a dropped episode";
      ASSERT_LT(step, 200);
      if (prev >= 0) {
        if (prev % 10 == 9) {
          // After an episode's last step comes the next kept episode's first.
          EXPECT_TRUE(batch.transitions.dones[row + t - 1]);
          EXPECT_EQ(step, prev + 1 + 20);
        } else {
          EXPECT_EQ(step, prev + 1);
        }
      }
      prev = step;
    }
    EXPECT_EQ(batch.starts[w],
              static_cast<uint64_t>(batch.transitions.obs[2 * row + 1]));
  }
}

TEST(KeptEpisodesTest, MatchesTheDefinitionEpisodeByEpisode) {
  // Oracle: the rule of window_sampler.h, asked of each episode on its own.
  auto kept = [](size_t e, uint32_t k, uint32_t m, int64_t d, uint32_t p) {
    const bool on_phase = e % k == p % k;
    if (m == 0 || d < 0) return on_phase;
    const int64_t ei = static_cast<int64_t>(e);
    const int64_t dense_from = d - static_cast<int64_t>(m) + 1;
    if (ei < dense_from) return on_phase;
    if (ei <= d) return true;
    return (ei - d) % k == 0;
  };
  for (size_t n : {0, 1, 5, 40}) {
    for (uint32_t k : {1u, 2u, 3u, 8u}) {
      for (uint32_t m : {0u, 1u, 3u, 50u}) {
        for (int64_t d : {-1, 0, 2, 7, 39}) {
          for (uint32_t p : {0u, 1u, 2u, 7u, 9u}) {
            if (d >= static_cast<int64_t>(n)) continue;
            std::vector<size_t> expected;
            for (size_t e = 0; e < n; ++e) {
              if (kept(e, k, m, d, p)) expected.push_back(e);
            }
            EXPECT_EQ(KeptEpisodes(n, k, m, d, p), expected)
                << "n " << n << " k " << k << " m " << m << " d " << d << " p "
                << p;
          }
        }
      }
    }
  }
}

TEST_F(WindowSamplerTest, RandomPhaseDrawsEveryPhaseOfTheStride) {
  // 40 episodes of 10 steps, stride 4. Phase 0 alone keeps episodes 0, 4,
  // ..., 36; with random_phase every window is one phase's every-4th
  // sequence (p, p + 4, ...) and the windows reach every episode.
  AddHistory("h", 0, 400, MakeMeta(""), /*chunk=*/13);
  WindowSampler::Options options;
  options.window_len = 25;  // spans 3 or 4 episodes
  options.batch_size = 400;
  options.episode_stride = 4;
  options.random_phase = true;
  auto sampler = Sampler(options);
  ASSERT_TRUE(Ready(*sampler).ok());
  // Totals count the history once (its phase-0 subsequence).
  EXPECT_EQ(sampler->matching_transitions(), 100u);
  // 4 phases x (100 - 25 + 1) starts.
  EXPECT_EQ(sampler->valid_starts(), 4u * 76u);
  WindowBatch batch;
  ASSERT_TRUE(sampler->Next(&batch).ok());
  std::set<int> episodes_seen, phases_seen;
  for (uint32_t w = 0; w < batch.batch_size; ++w) {
    const size_t row = static_cast<size_t>(w) * 25;
    const int phase = batch.transitions.obs[2 * row + 1] / 10 % 4;
    phases_seen.insert(phase);
    int prev = -1;
    for (uint32_t t = 0; t < 25; ++t) {
      const int step = batch.transitions.obs[2 * (row + t) + 1];
      ASSERT_EQ(step / 10 % 4, phase) << "window " << w << " mixes phases";
      episodes_seen.insert(step / 10);
      if (prev >= 0) {
        EXPECT_EQ(step, prev % 10 == 9 ? prev + 1 + 30 : prev + 1);
      }
      prev = step;
    }
    EXPECT_EQ(batch.starts[w],
              static_cast<uint64_t>(batch.transitions.obs[2 * row + 1]));
  }
  EXPECT_EQ(phases_seen, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(episodes_seen.size(), 40u);
  // Without it: phase 0 only.
  options.random_phase = false;
  auto plain = Sampler(options);
  ASSERT_TRUE(Ready(*plain).ok());
  EXPECT_EQ(plain->valid_starts(), 76u);
}

TEST_F(WindowSamplerTest, DiscoveryAnchoringKeepsTheFirstRewardedEpisode) {
  // 30 episodes of 10 steps; only episodes 13 and later pay. Stride 4 with
  // m = 3 keeps 0, 4, 8 (before 11), 11, 12, 13 (up to the discovery), then
  // 17, 21, 25, 29. The discovery falls inside a chunk (chunks of 7).
  const uint64_t kEpisodes = 30, kLen = 10, kFirstPaid = 13;
  const std::set<int> expected = {0, 4, 8, 11, 12, 13, 17, 21, 25, 29};
  HistoryRecord meta = MakeMeta("");
  meta.history_id = "h";
  uint64_t seq = 0;
  for (uint64_t at = 0; at < kEpisodes * kLen; at += 7, ++seq) {
    const uint64_t n = std::min<uint64_t>(7, kEpisodes * kLen - at);
    Transitions t = MakeTransitions(0, at, n, kLen);
    for (uint64_t i = 0; i < n; ++i) {
      if ((at + i) / kLen < kFirstPaid) t.rewards[i] = 0;
    }
    TrajectoryStore::AppendRequest request;
    request.history_id = "h";
    request.seq = seq;
    request.meta = &meta;
    request.chunk = t.view();
    request.final = at + n == kEpisodes * kLen;
    ASSERT_TRUE(store_->Append(request).ok());
  }
  WindowSampler::Options options;
  options.window_len = 20;
  options.batch_size = 300;
  options.episode_stride = 4;
  options.discovery_episodes = 3;
  auto check = [&] {
    auto sampler = Sampler(options);
    ASSERT_TRUE(Ready(*sampler).ok());
    EXPECT_EQ(sampler->matching_transitions(), expected.size() * kLen);
    WindowBatch batch;
    ASSERT_TRUE(sampler->Next(&batch).ok());
    std::set<int> seen;
    for (size_t i = 0; i < batch.transitions.actions.size(); ++i) {
      const int episode = batch.transitions.obs[2 * i + 1] / kLen;
      ASSERT_TRUE(expected.count(episode)) << "episode " << episode;
      seen.insert(episode);
    }
    EXPECT_EQ(seen, expected);  // 300 windows reach every kept episode
  };
  check();
  // The first rewarded episode is rebuilt from the episode index on Open.
  store_.reset();
  TrajectoryStore::Options reopen;
  reopen.path = dir_.path();
  reopen.block_cache_bytes = 16 << 20;
  reopen.write_buffer_bytes = 4 << 20;
  reopen.chunk_cache_bytes = 1 << 20;
  auto store = TrajectoryStore::Open(reopen);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(store).value();
  check();
  // Without anchoring: plain every-4th.
  options.discovery_episodes = 0;
  auto plain = Sampler(options);
  ASSERT_TRUE(Ready(*plain).ok());
  EXPECT_EQ(plain->matching_transitions(), 8 * kLen);  // 0, 4, ..., 28
}

TEST_F(WindowSamplerTest, ExplainsWhyNothingCanBeSampled) {
  AddHistory("a", 0, 50, MakeMeta(""));
  WindowSampler::Options options;
  options.window_len = 51;
  auto too_long = Sampler(options);
  absl::Status status = Ready(*too_long);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("window_len 51"), std::string::npos);
  WindowBatch batch;
  EXPECT_EQ(too_long->Next(&batch).code(), absl::StatusCode::kInvalidArgument);

  options.window_len = 10;
  options.filter.task_ids = {"darkroom/goal=9,9"};
  EXPECT_EQ(Ready(*Sampler(options)).code(), absl::StatusCode::kNotFound);

  options.filter.task_ids.clear();
  options.filter.env = "bandit";
  EXPECT_EQ(Ready(*Sampler(options)).code(), absl::StatusCode::kNotFound);

  options.window_len = 0;
  EXPECT_EQ(WindowSampler::Create(store_.get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(WindowSamplerTest, MixedObsDimIsRejected) {
  AddHistory("a", 0, 50, MakeMeta(""));
  HistoryRecord meta = MakeMeta("b");
  meta.env = "other";
  meta.task_id = "other/1";
  meta.obs_dim = 3;
  Transitions t;
  t.Resize(3, 20);
  TrajectoryStore::AppendRequest request;
  request.history_id = "b";
  request.meta = &meta;
  request.chunk = t.view();
  ASSERT_TRUE(store_->Append(request).ok());
  WindowSampler::Options options;
  options.window_len = 10;
  EXPECT_EQ(Ready(*Sampler(options)).code(),
            absl::StatusCode::kInvalidArgument);
  options.filter.env = "other";
  auto narrowed = Sampler(options);
  ASSERT_TRUE(Ready(*narrowed).ok());
  EXPECT_EQ(narrowed->obs_dim(), 3u);
}

TEST_F(WindowSamplerTest, WaitsForMinimumSizeWhileHistoriesGrow) {
  WindowSampler::Options options;
  options.window_len = 20;
  options.batch_size = 8;
  options.refresh_interval = absl::ZeroDuration();
  auto sampler = Sampler(options);
  EXPECT_EQ(sampler
                ->WaitUntilReady(100, absl::Now() + absl::Milliseconds(50),
                                 [] { return false; })
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(
      sampler->WaitUntilReady(100, absl::InfiniteFuture(), [] { return true; })
          .code(),
      absl::StatusCode::kCancelled);
  std::thread writer([this] {
    absl::SleepFor(absl::Milliseconds(20));
    AddHistory("a", 0, 60, MakeMeta(""));
    AddHistory("b", 1, 60, MakeMeta(""));
  });
  absl::Status ready = sampler->WaitUntilReady(
      100, absl::Now() + absl::Seconds(10), [] { return false; });
  writer.join();
  ASSERT_TRUE(ready.ok()) << ready;
  EXPECT_GE(sampler->matching_transitions(), 100u);
  WindowBatch batch;
  ASSERT_TRUE(sampler->Next(&batch).ok());
  ExpectContiguousWindows(batch);
}

TEST_F(WindowSamplerTest, DeletedHistoryIsNeverSampledAgain) {
  AddHistory("a", 0, 200, MakeMeta(""));
  AddHistory("b", 1, 200, MakeMeta(""));
  WindowSampler::Options options;
  options.window_len = 20;
  options.batch_size = 16;
  options.refresh_interval = absl::Hours(1);  // the view goes stale
  auto sampler = Sampler(options);
  ASSERT_TRUE(Ready(*sampler).ok());
  WindowBatch batch;
  ASSERT_TRUE(sampler->Next(&batch).ok());
  ASSERT_TRUE(store_->DeleteHistory("a").ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(sampler->Next(&batch).ok());
    ExpectContiguousWindows(batch);
    for (uint32_t w = 0; w < batch.batch_size; ++w) {
      ASSERT_EQ(batch.history_ids[w], "b");
      ASSERT_EQ(batch.transitions.obs[2 * w * batch.window_len], 1);
    }
  }
  ASSERT_TRUE(store_->DeleteHistory("b").ok());
  EXPECT_EQ(sampler->Next(&batch).code(), absl::StatusCode::kNotFound);
}

TEST_F(WindowSamplerTest, BlockedWaiterDoesNotRescanOnEveryAppend) {
  // A history of another env grows one transition per append.
  HistoryRecord other = MakeMeta("other");
  other.env = "other";
  other.task_id = "other/1";
  AddHistory("other", 0, 1, other, /*chunk=*/1, /*episode_len=*/10,
             /*final=*/false);
  WindowSampler::Options options;
  options.filter.env = testing::kSyntheticEnv;
  options.window_len = 10;
  options.batch_size = 4;
  auto sampler = Sampler(options);
  std::thread writer([&] {
    for (uint64_t seq = 1; seq <= 300; ++seq) {
      const Transitions t = MakeTransitions(0, seq, 1);
      TrajectoryStore::AppendRequest request;
      request.history_id = "other";
      request.seq = seq;
      request.chunk = t.view();
      CHECK(store_->Append(request).ok());
    }
    AddHistory("mine", 3, 500, MakeMeta(""), /*chunk=*/250);
  });
  absl::Status ready = sampler->WaitUntilReady(
      500, absl::Now() + absl::Seconds(30), [] { return false; });
  writer.join();
  ASSERT_TRUE(ready.ok()) << ready;
  // One scan to start, one when "mine" was created, a few as it grew: far
  // fewer than the 300 appends it slept through.
  EXPECT_LE(sampler->rescans(), 5u);
}

}  // namespace
}  // namespace ad::storage
