#include "storage/trajectory_store.h"

#include <glog/logging.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <functional>
#include <limits>
#include <thread>

#include "storage/test_util.h"

namespace ad::storage {
namespace {

using testing::MakeMeta;
using testing::MakePixelMeta;
using testing::MakePixelTransitions;
using testing::MakeTransitions;
using testing::TempDir;

TrajectoryStore::Options SmallOptions(const std::string& path) {
  TrajectoryStore::Options options;
  options.path = path;
  options.block_cache_bytes = 16 << 20;
  options.write_buffer_bytes = 4 << 20;
  options.chunk_cache_bytes = 4 << 20;
  return options;
}

std::unique_ptr<TrajectoryStore> OpenOrDie(const std::string& path) {
  auto store = TrajectoryStore::Open(SmallOptions(path));
  CHECK(store.ok()) << store.status();
  return std::move(store).value();
}

absl::StatusOr<TrajectoryStore::AppendResult> AppendChunk(
    TrajectoryStore& store, const std::string& id, uint64_t seq,
    const Transitions& t, bool final = false,
    const HistoryRecord* meta = nullptr) {
  HistoryRecord default_meta = MakeMeta(id);
  TrajectoryStore::AppendRequest request;
  request.history_id = id;
  request.seq = seq;
  request.meta = meta != nullptr ? meta : (seq == 0 ? &default_meta : nullptr);
  request.chunk = t.view();
  request.final = final;
  return store.Append(request);
}

TEST(TrajectoryStoreTest, AppendsAndReadsBackAcrossChunks) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  uint64_t at = 0;
  for (uint64_t seq = 0; seq < 5; ++seq) {
    auto result = AppendChunk(*store, "h1", seq, MakeTransitions(1, at, 37),
                              /*final=*/seq == 4);
    ASSERT_TRUE(result.ok()) << result.status();
    at += 37;
    EXPECT_EQ(result->length, at);
    EXPECT_FALSE(result->duplicate);
  }
  auto range = store->ReadRange("h1", 30, 150);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->obs, MakeTransitions(1, 30, 120).obs);
  EXPECT_EQ(range->dones, MakeTransitions(1, 30, 120).dones);
  EXPECT_EQ(store->ReadRange("h1", 100, 186).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->ReadRange("nope", 0, 1).status().code(),
            absl::StatusCode::kNotFound);

  // CopyTransitions (the sampler's path) agrees with the range scan.
  Transitions out;
  out.Resize(2, 50);
  ASSERT_TRUE(store
                  ->CopyTransitions(0, 70, 50,
                                    {out.obs.data(), out.actions.data(),
                                     out.rewards.data(), out.dones.data()})
                  .ok());
  EXPECT_EQ(out.obs, MakeTransitions(1, 70, 50).obs);
}

TEST(TrajectoryStoreTest, TracksEpisodesAndReturnsAcrossChunks) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  // Episodes of 10; chunks of 7 split them.
  for (uint64_t seq = 0; seq < 4; ++seq) {
    ASSERT_TRUE(
        AppendChunk(*store, "h1", seq, MakeTransitions(1, seq * 7, 7)).ok());
  }
  auto record = store->GetHistory("h1");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->length, 28u);
  EXPECT_EQ(record->episodes, 2u);
  EXPECT_EQ(record->episode_returns, (std::vector<float>{1.5f, 1.5f}));
  EXPECT_FALSE(record->complete);
}

TEST(TrajectoryStoreTest, RetriedChunkIsAcknowledgedAsDuplicate) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
  ASSERT_TRUE(AppendChunk(*store, "h1", 1, MakeTransitions(1, 10, 10)).ok());
  for (uint64_t seq : {0, 1}) {
    auto again = AppendChunk(*store, "h1", seq, MakeTransitions(1, 0, 10));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(again->length, 20u);
  }
  EXPECT_EQ(store->GetStats().transitions, 20u);
  EXPECT_EQ(store->GetHistory("h1")->length, 20u);
}

TEST(TrajectoryStoreTest, ResentSeqOfAnotherSizeIsRejectedNotADuplicate) {
  // A writer flushed a short chunk 1 (stopped mid-chunk), then a restarted
  // writer regenerates the history in whole chunks: its chunk 1 is not the
  // stored one, and acknowledging it as a duplicate would lose transitions.
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
  ASSERT_TRUE(AppendChunk(*store, "h1", 1, MakeTransitions(1, 10, 4)).ok());
  EXPECT_TRUE(
      AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10))->duplicate);
  auto longer = AppendChunk(*store, "h1", 1, MakeTransitions(1, 10, 10));
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kFailedPrecondition)
      << longer.status();
  EXPECT_EQ(
      AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 7)).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->GetHistory("h1")->length, 14u);
  EXPECT_EQ(store->GetStats().transitions, 14u);
}

TEST(TrajectoryStoreTest, RejectsOutOfOrderAndUnknownContinuations) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  auto unknown = AppendChunk(*store, "ghost", 3, MakeTransitions(1, 0, 10));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("ghost"), std::string::npos);

  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
  auto gap = AppendChunk(*store, "h1", 2, MakeTransitions(1, 10, 10));
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(gap.status().message().find("next expected seq is 1"),
            std::string::npos)
      << gap.status();
  EXPECT_EQ(store->GetStats().transitions, 10u);
}

TEST(TrajectoryStoreTest, RejectsMalformedChunksWithoutWriting) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
  struct Case {
    const char* field;
    std::function<void(Transitions&)> spoil;
  };
  const std::vector<Case> cases = {
      {"obs", [](Transitions& t) { t.obs.pop_back(); }},
      {"rewards", [](Transitions& t) { t.rewards.push_back(0); }},
      {"dones", [](Transitions& t) { t.dones[3] = 2; }},
      {"actions", [](Transitions& t) { t.actions[0] = 5; }},
      {"obs_dim", [](Transitions& t) { t.obs_dim = 3; }},
  };
  for (const Case& c : cases) {
    Transitions t = MakeTransitions(1, 10, 10);
    c.spoil(t);
    auto result = AppendChunk(*store, "h1", 1, t);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << c.field;
    EXPECT_NE(result.status().message().find(c.field), std::string::npos)
        << result.status();
  }
  Transitions empty;
  empty.obs_dim = 2;
  EXPECT_EQ(AppendChunk(*store, "h1", 1, empty).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto record = store->GetHistory("h1");
  EXPECT_EQ(record->length, 10u);
  EXPECT_EQ(record->next_seq, 1u);
  // The history still accepts its real next chunk.
  EXPECT_TRUE(AppendChunk(*store, "h1", 1, MakeTransitions(1, 10, 10)).ok());
}

TEST(TrajectoryStoreTest, RejectsBadMeta) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  HistoryRecord no_split = MakeMeta("h1");
  no_split.split = "";
  EXPECT_EQ(
      AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10), false, &no_split)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  HistoryRecord no_env = MakeMeta("h1");
  no_env.env = "";
  EXPECT_EQ(
      AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10), false, &no_env)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendChunk(*store, "bad id!", 0, MakeTransitions(1, 0, 10))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A task keeps one split: a held-out task cannot gain a train history.
  HistoryRecord test_meta = MakeMeta("h1", "darkroom/goal=1,1", kTestSplit);
  ASSERT_TRUE(
      AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10), false, &test_meta)
          .ok());
  auto conflict = AppendChunk(*store, "h2", 0, MakeTransitions(2, 0, 10));
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetStats().histories, 1u);
}

TEST(TrajectoryStoreTest, CompleteHistoryRefusesMoreChunks) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
  Transitions empty;
  empty.obs_dim = 2;
  ASSERT_TRUE(AppendChunk(*store, "h1", 1, empty, /*final=*/true).ok());
  EXPECT_TRUE(store->GetHistory("h1")->complete);
  EXPECT_EQ(store->GetStats().complete_histories, 1u);
  EXPECT_TRUE(AppendChunk(*store, "h1", 1, empty, true)->duplicate);
  EXPECT_EQ(
      AppendChunk(*store, "h1", 2, MakeTransitions(1, 10, 10)).status().code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST(TrajectoryStoreTest, ReopenRebuildsIndexAndContinues) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 25)).ok());
    ASSERT_TRUE(AppendChunk(*store, "h2", 0, MakeTransitions(2, 0, 5)).ok());
  }
  auto store = OpenOrDie(dir.path());
  EXPECT_EQ(store->GetStats().histories, 2u);
  EXPECT_EQ(store->GetStats().transitions, 30u);
  EXPECT_TRUE(
      AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 25))->duplicate);
  ASSERT_TRUE(AppendChunk(*store, "h1", 1, MakeTransitions(1, 25, 25)).ok());
  auto record = store->GetHistory("h1");
  EXPECT_EQ(record->length, 50u);
  EXPECT_EQ(record->episodes, 5u);
  EXPECT_EQ(store->ReadRange("h1", 0, 50)->obs, MakeTransitions(1, 0, 50).obs);
}

TEST(TrajectoryStoreTest, ListsAndQueriesTasks) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  HistoryRecord a = MakeMeta("a", "darkroom/goal=1,1");
  HistoryRecord b = MakeMeta("b", "darkroom/goal=1,1");
  HistoryRecord c = MakeMeta("c", "darkroom/goal=2,2", kTestSplit);
  ASSERT_TRUE(
      AppendChunk(*store, "a", 0, MakeTransitions(1, 0, 10), false, &a).ok());
  ASSERT_TRUE(
      AppendChunk(*store, "b", 0, MakeTransitions(2, 0, 20), true, &b).ok());
  ASSERT_TRUE(
      AppendChunk(*store, "c", 0, MakeTransitions(3, 0, 5), false, &c).ok());
  auto tasks = store->ListTasks("", "");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].task_id, "darkroom/goal=1,1");
  EXPECT_EQ(tasks[0].histories, 2u);
  EXPECT_EQ(tasks[0].transitions, 30u);
  EXPECT_EQ(tasks[1].split, kTestSplit);
  EXPECT_EQ(store->ListTasks(testing::kSyntheticEnv, kTrainSplit).size(), 1u);
  EXPECT_TRUE(store->ListTasks("bandit", "").empty());

  auto histories =
      store->QueryTask(testing::kSyntheticEnv, "darkroom/goal=1,1");
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 2u);
  EXPECT_EQ((*histories)[0].history_id, "a");
  EXPECT_EQ((*histories)[1].history_id, "b");
  EXPECT_TRUE((*histories)[1].complete);
  EXPECT_EQ((*histories)[1].episode_returns.size(), 2u);
  EXPECT_EQ(store->QueryTask("", "darkroom/goal=1,1")->size(), 2u);
  EXPECT_EQ(store->QueryTask(testing::kSyntheticEnv, "darkroom/goal=9,9")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(TrajectoryStoreTest, CheckpointOpensAsAStore) {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"));
  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 40)).ok());
  ASSERT_TRUE(store->Checkpoint(dir.Sub("ckpt")).ok());
  EXPECT_EQ(store->Checkpoint(dir.Sub("ckpt")).code(),
            absl::StatusCode::kAlreadyExists);
  // Later writes do not reach the checkpoint.
  ASSERT_TRUE(AppendChunk(*store, "h1", 1, MakeTransitions(1, 40, 40)).ok());
  auto copy = OpenOrDie(dir.Sub("ckpt"));
  EXPECT_EQ(copy->GetHistory("h1")->length, 40u);
  EXPECT_EQ(copy->ReadRange("h1", 0, 40)->obs, MakeTransitions(1, 0, 40).obs);
}

TEST(TrajectoryStoreTest, ConcurrentAppendsOfManyHistories) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&store, w] {
      for (int h = 0; h < 5; ++h) {
        const std::string id = absl::StrCat("w", w, "h", h);
        for (uint64_t seq = 0; seq < 10; ++seq) {
          // Each chunk is sent twice, as a retrying client might.
          for (int attempt = 0; attempt < 2; ++attempt) {
            auto r = AppendChunk(*store, id, seq,
                                 MakeTransitions(w * 10 + h, seq * 16, 16));
            CHECK(r.ok()) << r.status();
            CHECK_EQ(r->duplicate, attempt == 1);
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store->GetStats().histories, 20u);
  EXPECT_EQ(store->GetStats().transitions, 20u * 160);
  EXPECT_EQ(store->ReadRange("w3h4", 0, 160)->obs,
            MakeTransitions(34, 0, 160).obs);
}

// A valid Dark Room chunk: obs in the 9x9 grid, actions in [0, 5).
Transitions DarkroomChunk(uint64_t first, uint64_t n) {
  Transitions t = MakeTransitions(0, first, n);
  for (size_t i = 0; i < t.obs.size(); ++i) t.obs[i] %= 9;
  return t;
}

HistoryRecord DarkroomMeta(const std::string& id) {
  HistoryRecord meta = MakeMeta(id);
  meta.env = "darkroom";
  return meta;
}

TEST(TrajectoryStoreTest, RejectsNonFiniteRewardsAndKeepsTheHistoryUsable) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
  for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    Transitions t = MakeTransitions(1, 10, 10);
    t.rewards[4] = bad;
    auto result = AppendChunk(*store, "h1", 1, t);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find("rewards[4]"), std::string::npos)
        << result.status();
  }
  EXPECT_EQ(store->GetHistory("h1")->length, 10u);
  EXPECT_TRUE(AppendChunk(*store, "h1", 1, MakeTransitions(1, 10, 10)).ok());
}

TEST(TrajectoryStoreTest, RejectsZeroNumActionsSoActionsAreAlwaysChecked) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  HistoryRecord meta = MakeMeta("h1");
  meta.num_actions = 0;
  Transitions t = MakeTransitions(1, 0, 10);
  t.actions[2] = -5;
  auto result = AppendChunk(*store, "h1", 0, t, false, &meta);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("meta.num_actions"),
            std::string::npos)
      << result.status();
  EXPECT_EQ(store->GetStats().histories, 0u);
}

TEST(TrajectoryStoreTest, ChecksKnownFamiliesShapeAndObservationRange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  struct Case {
    const char* want;  // in the message
    std::function<void(HistoryRecord&, Transitions&)> spoil;
  };
  const std::vector<Case> cases = {
      {"meta.obs_dim is 3",
       [](HistoryRecord& m, Transitions& t) {
         m.obs_dim = 3;
         t.Resize(3, 10);
       }},
      {"meta.num_actions is 9",
       [](HistoryRecord& m, Transitions&) { m.num_actions = 9; }},
      {"is -7; must lie in [0, 9)",
       [](HistoryRecord&, Transitions& t) { t.obs[5] = -7; }},
      {"is 1000000000; must lie in [0, 9)",
       [](HistoryRecord&, Transitions& t) { t.obs[6] = 1000000000; }},
  };
  for (const Case& c : cases) {
    HistoryRecord meta = DarkroomMeta("bad");
    Transitions t = DarkroomChunk(0, 10);
    c.spoil(meta, t);
    auto result = AppendChunk(*store, "bad", 0, t, false, &meta);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << c.want;
    EXPECT_NE(result.status().message().find(c.want), std::string::npos)
        << result.status();
  }
  EXPECT_EQ(store->GetStats().histories, 0u);
  const HistoryRecord good = DarkroomMeta("good");
  ASSERT_TRUE(
      AppendChunk(*store, "good", 0, DarkroomChunk(0, 10), false, &good).ok());
  // Later chunks of a good history are range-checked too.
  Transitions out_of_grid = DarkroomChunk(10, 10);
  out_of_grid.obs[1] = 9;
  EXPECT_EQ(AppendChunk(*store, "good", 1, out_of_grid).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetHistory("good")->length, 10u);
}

// The version byte of every chunk of `history_id` in the closed store at
// `path`, read straight from RocksDB.
std::vector<int> ChunkVersions(const std::string& path,
                               const std::string& history_id) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"chunks", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::OpenForReadOnly(
      rocksdb::DBOptions(), path, families, &handles, &raw);
  CHECK(s.ok()) << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<int> versions;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), handles[1]));
  const std::string prefix = history_id + std::string(1, '\0');
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    versions.push_back(static_cast<uint8_t>(it->value()[0]));
  }
  for (auto* h : handles) CHECK(db->DestroyColumnFamilyHandle(h).ok());
  return versions;
}

TEST(TrajectoryStoreTest, PixelChunksAreStoredAsBytesAndReadBackExactly) {
  TempDir dir;
  const Transitions first = MakePixelTransitions(/*tag=*/1, 0, 30);
  const Transitions second = MakePixelTransitions(/*tag=*/1, 30, 30);
  {
    auto store = OpenOrDie(dir.path());
    const HistoryRecord meta = MakePixelMeta("px");
    ASSERT_TRUE(AppendChunk(*store, "px", 0, first, false, &meta).ok());
    ASSERT_TRUE(AppendChunk(*store, "px", 1, second, /*final=*/true).ok());
    auto range = store->ReadRange("px", 0, 60);
    ASSERT_TRUE(range.ok()) << range.status();
    EXPECT_EQ(range->obs_dim, first.obs_dim);
    Transitions both = first;
    both.Append(second.view(), 0, second.size());
    EXPECT_EQ(range->obs, both.obs);
    EXPECT_EQ(range->actions, both.actions);
    EXPECT_EQ(range->dones, both.dones);
    // The sampler's path, across the chunk boundary.
    Transitions out;
    out.Resize(first.obs_dim, 20);
    ASSERT_TRUE(store
                    ->CopyTransitions(0, 20, 20,
                                      {out.obs.data(), out.actions.data(),
                                       out.rewards.data(), out.dones.data()})
                    .ok());
    Transitions want;
    want.Append(both.view(), 20, 20);
    EXPECT_EQ(out.obs, want.obs);
  }
  EXPECT_EQ(ChunkVersions(dir.path(), "px"), (std::vector<int>{2, 2}));
  // Other families keep version-1 chunks.
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_TRUE(AppendChunk(*store, "grid", 0, MakeTransitions(2, 0, 10)).ok());
  }
  EXPECT_EQ(ChunkVersions(dir.path(), "grid"), (std::vector<int>{1}));
}

TEST(TrajectoryStoreTest, StoresWithInt32PixelChunksStillOpenReadAndGrow) {
  TempDir dir;
  const Transitions old_chunk = MakePixelTransitions(/*tag=*/3, 0, 25);
  const Transitions new_chunk = MakePixelTransitions(/*tag=*/3, 25, 25);
  {
    // A store as written before byte chunks existed: int32 observations.
    TrajectoryStore::Options options = SmallOptions(dir.path());
    options.obs_bytes_in_chunks = false;
    auto store = TrajectoryStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    const HistoryRecord meta = MakePixelMeta("old");
    ASSERT_TRUE(AppendChunk(**store, "old", 0, old_chunk, false, &meta).ok());
  }
  EXPECT_EQ(ChunkVersions(dir.path(), "old"), (std::vector<int>{1}));
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_EQ(store->GetHistory("old")->length, 25u);
    ASSERT_TRUE(AppendChunk(*store, "old", 1, new_chunk, /*final=*/true).ok());
    auto range = store->ReadRange("old", 10, 40);  // spans both versions
    ASSERT_TRUE(range.ok()) << range.status();
    Transitions both = old_chunk;
    both.Append(new_chunk.view(), 0, new_chunk.size());
    Transitions want;
    want.Append(both.view(), 10, 30);
    EXPECT_EQ(range->obs, want.obs);
    EXPECT_EQ(range->rewards, want.rewards);
  }
  EXPECT_EQ(ChunkVersions(dir.path(), "old"), (std::vector<int>{1, 2}));
}

TEST(TrajectoryStoreTest, PixelValuesOutsideAByteAreRejectedBeforeWriting) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  const HistoryRecord meta = MakePixelMeta("px");
  Transitions bad = MakePixelTransitions(/*tag=*/1, 0, 3);
  bad.obs[bad.obs_dim + 5] = 256;
  auto result = AppendChunk(*store, "px", 0, bad, false, &meta);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("(transition 1, component 5) is "
                                           "256; must lie in [0, 256)"),
            std::string::npos)
      << result.status();
  EXPECT_EQ(store->GetStats().histories, 0u);
}

TEST(TrajectoryStoreTest, PinsEachEnvsShapeOnFirstWriteAcrossReopen) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
    HistoryRecord wide = MakeMeta("h2");
    wide.obs_dim = 3;
    Transitions t;
    t.Resize(3, 10);
    auto result = AppendChunk(*store, "h2", 0, t, false, &wide);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find(
                  "meta.obs_dim is 3 but env 'synthetic' has obs_dim 2"),
              std::string::npos)
        << result.status();
  }
  auto store = OpenOrDie(dir.path());
  auto shape = store->GetEnvShape(testing::kSyntheticEnv);
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->obs_dim, 2u);
  EXPECT_EQ(shape->num_actions, 5u);
  HistoryRecord more_actions = MakeMeta("h3");
  more_actions.num_actions = 9;
  auto result = AppendChunk(*store, "h3", 0, MakeTransitions(3, 0, 10), false,
                            &more_actions);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find(
                "meta.num_actions is 9 but env 'synthetic' has num_actions 5"),
            std::string::npos)
      << result.status();
  // Another env has its own pin.
  HistoryRecord other = MakeMeta("o1", "other/1");
  other.env = "other";
  other.obs_dim = 1;
  Transitions t;
  t.Resize(1, 4);
  EXPECT_TRUE(AppendChunk(*store, "o1", 0, t, false, &other).ok());
  EXPECT_EQ(store->GetStats().histories, 2u);
}

TEST(TrajectoryStoreTest, DeleteHistoryRemovesItDurably) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 30)).ok());
    ASSERT_TRUE(AppendChunk(*store, "h2", 0, MakeTransitions(2, 0, 20)).ok());
    auto deleted = store->DeleteHistory("h1");
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_EQ(deleted->length, 30u);
    EXPECT_EQ(deleted->episode_returns.size(), 3u);
    EXPECT_EQ(store->DeleteHistory("h1").status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(store->GetHistory("h1").status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(store->GetStats().histories, 1u);
    EXPECT_EQ(store->GetStats().transitions, 20u);
    // Its next chunk finds no history.
    EXPECT_EQ(AppendChunk(*store, "h1", 1, MakeTransitions(1, 30, 10))
                  .status()
                  .code(),
              absl::StatusCode::kNotFound);
  }
  auto store = OpenOrDie(dir.path());
  EXPECT_EQ(store->GetHistory("h1").status().code(),
            absl::StatusCode::kNotFound);
  auto histories = store->QueryTask("", "darkroom/goal=1,1");
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 1u);
  EXPECT_EQ((*histories)[0].history_id, "h2");
  EXPECT_EQ(store->ListTasks("", "")[0].transitions, 20u);
  // The id can start over, with fresh data only.
  ASSERT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(9, 0, 5)).ok());
  EXPECT_EQ(store->ReadRange("h1", 0, 5)->obs, MakeTransitions(9, 0, 5).obs);
  EXPECT_EQ(store->GetHistory("h1")->episodes, 0u);
}

TEST(TrajectoryStoreTest, DeletingAnEnvsLastHistoryReleasesItsPin) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  HistoryRecord wrong = MakeMeta("first");
  wrong.obs_dim = 3;
  Transitions t;
  t.Resize(3, 4);
  ASSERT_TRUE(AppendChunk(*store, "first", 0, t, false, &wrong).ok());
  EXPECT_EQ(
      AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).status().code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store->DeleteHistory("first").ok());
  EXPECT_EQ(store->GetEnvShape(testing::kSyntheticEnv).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(AppendChunk(*store, "h1", 0, MakeTransitions(1, 0, 10)).ok());
}

TEST(TrajectoryStoreTest, ErrorsEchoOnlyAShortPrefixOfLongIds) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  const std::string long_id(10240, 'q');
  for (const absl::Status& s : {store->GetHistory(long_id).status(),
                                store->ReadRange(long_id, 0, 1).status(),
                                store->QueryTask("", long_id).status(),
                                store->DeleteHistory(long_id).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
    EXPECT_LT(s.message().size(), 300u) << s.message().substr(0, 300);
    EXPECT_NE(s.message().find("(10240 bytes)"), std::string::npos);
  }
  auto bad = AppendChunk(*store, long_id, 0, MakeTransitions(1, 0, 1));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(bad.status().message().size(), 300u);
}

}  // namespace
}  // namespace ad::storage
