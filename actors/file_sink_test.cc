#include "actors/file_sink.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "actors/source_test_util.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::TempDir;

ad::v1::HistoryMeta Meta(const std::string& id) {
  ad::v1::HistoryMeta meta;
  meta.set_history_id(id);
  meta.set_env("darkroom");
  meta.set_task_id("darkroom/goal=3,7");
  meta.set_source("tabular_q");
  meta.set_seed(5);
  meta.set_stream(2);
  meta.set_split("train");
  meta.set_obs_dim(2);
  meta.set_num_actions(5);
  return meta;
}

// A chunk of `n` transitions starting at transition `first`; an episode
// ends every 3 transitions; reward 1 on odd transitions.
TransitionChunk Chunk(uint64_t seq, int first, int n) {
  TransitionChunk c;
  c.seq = seq;
  c.first = static_cast<uint64_t>(first);
  c.transitions.set_obs_dim(2);
  float ret = 0;
  for (int t = first; t < first + n; ++t) {
    c.transitions.add_obs(t % 9);
    c.transitions.add_obs((t / 9) % 9);
    c.transitions.add_actions(t % 5);
    const float r = t % 2 == 1 ? 1.0f : 0.0f;
    c.transitions.add_rewards(r);
    ret += r;
    const bool done = t % 3 == 2;
    c.transitions.mutable_dones()->push_back(done ? 1 : 0);
    if (done) {
      c.episode_returns.push_back(ret);
      ret = 0;
    }
  }
  return c;
}

TEST(FileSinkTest, ChunksReadBackAsOneCompleteHistory) {
  const std::string dir = TempDir("roundtrip");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok()) << sink.status();
  const auto meta = Meta("tabular_q:darkroom/goal=3,7:seed=5:stream=2");
  ASSERT_TRUE((*sink)->Append(meta, Chunk(0, 0, 6), false).ok());
  ASSERT_TRUE((*sink)->Append(meta, Chunk(1, 6, 6), false).ok());
  ASSERT_TRUE((*sink)->Append(meta, Chunk(2, 12, 0), true).ok());
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(5)).ok());

  auto histories = ReadHistoryDirectory(dir);
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 1u);
  const RecordedHistory& h = (*histories)[0];
  EXPECT_EQ(h.meta.history_id(), meta.history_id());
  EXPECT_EQ(h.meta.task_id(), "darkroom/goal=3,7");
  EXPECT_EQ(h.meta.stream(), 2u);
  EXPECT_EQ(h.meta.length(), 12u);
  EXPECT_EQ(h.meta.episodes(), 4u);
  EXPECT_TRUE(h.meta.complete());
  ASSERT_EQ(h.transitions.actions_size(), 12);
  for (int t = 0; t < 12; ++t) {
    EXPECT_EQ(h.transitions.actions(t), t % 5);
    EXPECT_EQ(h.transitions.obs(2 * t), t % 9);
  }
  // Episodes (0,1,2) (3,4,5) ...: returns 1, 2, 1, 2.
  EXPECT_EQ(std::vector<float>(h.meta.episode_returns().begin(),
                               h.meta.episode_returns().end()),
            (std::vector<float>{1, 2, 1, 2}));
}

TEST(FileSinkTest, RejectsOutOfOrderAndPostFinalChunks) {
  const std::string dir = TempDir("order");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  const auto meta = Meta("h1");
  EXPECT_EQ((*sink)->Append(meta, Chunk(1, 0, 3), false).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*sink)->Append(meta, Chunk(0, 0, 3), true).ok());
  EXPECT_EQ((*sink)->Append(meta, Chunk(1, 3, 3), false).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FileSinkTest, RejectsMalformedChunksNamingTheField) {
  const std::string dir = TempDir("malformed");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  TransitionChunk bad_action = Chunk(0, 0, 3);
  bad_action.transitions.set_actions(1, 7);
  absl::Status s = (*sink)->Append(Meta("h"), bad_action, false);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("actions[1]"), std::string::npos) << s;
  TransitionChunk short_rewards = Chunk(0, 0, 3);
  short_rewards.transitions.mutable_rewards()->RemoveLast();
  EXPECT_EQ((*sink)->Append(Meta("h"), short_rewards, false).code(),
            absl::StatusCode::kInvalidArgument);
  auto bad_id = Meta("bad id with spaces");
  EXPECT_EQ((*sink)->Append(bad_id, Chunk(0, 0, 3), false).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ListHistoryFiles(dir)->empty());
}

TEST(FileSinkTest, TruncatedTailIsDroppedAndHistoryIncomplete) {
  const std::string dir = TempDir("truncated");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  const auto meta = Meta("h2");
  ASSERT_TRUE((*sink)->Append(meta, Chunk(0, 0, 6), false).ok());
  ASSERT_TRUE((*sink)->Append(meta, Chunk(1, 6, 6), true).ok());
  const std::string path = (*sink)->PathFor("h2");
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 5);  // a write cut short
  auto h = ReadHistoryFile(path);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->meta.length(), 6u);
  EXPECT_FALSE(h->meta.complete());
}

TEST(FileSinkTest, GarbageIsDataLoss) {
  const std::string dir = TempDir("garbage");
  const std::string path = dir + "/x.adh";
  std::ofstream(path) << "not a history";
  EXPECT_EQ(ReadHistoryFile(path).status().code(), absl::StatusCode::kDataLoss);
}

TEST(FileSinkTest, ConcurrentHistoriesFromManyThreads) {
  const std::string dir = TempDir("threads");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  std::vector<std::thread> threads;
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&, k] {
      const auto meta = Meta(absl::StrCat("h:", k));
      for (uint64_t seq = 0; seq < 20; ++seq) {
        EXPECT_TRUE((*sink)
                        ->Append(meta, Chunk(seq, static_cast<int>(seq) * 3, 3),
                                 seq == 19)
                        .ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(10)).ok());
  auto histories = ReadHistoryDirectory(dir);
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 8u);
  for (const RecordedHistory& h : *histories) {
    EXPECT_EQ(h.meta.length(), 60u);
    EXPECT_TRUE(h.meta.complete());
  }
}

}  // namespace
}  // namespace ad::actors
