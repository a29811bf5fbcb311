#include "storage/keyspace.h"

#include <gtest/gtest.h>

#include "storage/test_util.h"

namespace ad::storage::keyspace {
namespace {

TEST(KeyspaceTest, HistoryKeysSortInTransitionOrder) {
  EXPECT_LT(HistoryKey("h", 255), HistoryKey("h", 256));
  EXPECT_LT(HistoryKey("h", 1), HistoryKey("h", uint64_t{1} << 40));
  // A history's keys stay contiguous even when another id extends it.
  EXPECT_LT(HistoryKey("h", ~uint64_t{0}), HistoryKey("h0", 0));
  EXPECT_EQ(HistoryKey("h", 7).rfind(HistoryPrefix("h"), 0), 0u);
}

TEST(KeyspaceTest, HistoryKeyRoundTrips) {
  absl::string_view id;
  uint64_t index = 0;
  const std::string key = HistoryKey("run:3/stream=1", 123456789);
  ASSERT_TRUE(ParseHistoryKey(key, &id, &index).ok());
  EXPECT_EQ(id, "run:3/stream=1");
  EXPECT_EQ(index, 123456789u);
  EXPECT_EQ(ParseHistoryKey("short", &id, &index).code(),
            absl::StatusCode::kDataLoss);
}

TEST(KeyspaceTest, TaskKeyRoundTrips) {
  absl::string_view env, task, id;
  const std::string key = TaskKey("darkroom", "darkroom/goal=3,7", "h1");
  ASSERT_TRUE(ParseTaskKey(key, &env, &task, &id).ok());
  EXPECT_EQ(env, "darkroom");
  EXPECT_EQ(task, "darkroom/goal=3,7");
  EXPECT_EQ(id, "h1");
  EXPECT_EQ(key.rfind(TaskPrefix("darkroom", "darkroom/goal=3,7"), 0), 0u);
}

TEST(KeyspaceTest, RecordRoundTrips) {
  HistoryRecord r = testing::MakeMeta("h1");
  r.seed = 42;
  r.stream = 3;
  r.length = 1000;
  r.episodes = 50;
  r.complete = true;
  r.next_seq = 9;
  r.open_return = 2.5f;
  HistoryRecord back;
  ASSERT_TRUE(DecodeRecord(EncodeRecord(r), &back).ok());
  EXPECT_TRUE(SameIdentity(r, back));
  EXPECT_EQ(back.length, 1000u);
  EXPECT_EQ(back.episodes, 50u);
  EXPECT_TRUE(back.complete);
  EXPECT_EQ(back.next_seq, 9u);
  EXPECT_EQ(back.open_return, 2.5f);
  EXPECT_FALSE(DecodeRecord("x", &back).ok());
}

TEST(KeyspaceTest, ChunkRoundTrips) {
  const Transitions t = testing::MakeTransitions(/*tag=*/4, /*first=*/10,
                                                 /*n=*/33);
  uint64_t seq = 0;
  Transitions back;
  const std::string value = EncodeChunk(/*seq=*/5, t.view());
  ASSERT_TRUE(DecodeChunk(value, &seq, &back).ok());
  EXPECT_EQ(seq, 5u);
  EXPECT_EQ(back.obs, t.obs);
  EXPECT_EQ(back.actions, t.actions);
  EXPECT_EQ(back.rewards, t.rewards);
  EXPECT_EQ(back.dones, t.dones);
  EXPECT_EQ(DecodeChunk(value.substr(0, value.size() - 1), &seq, &back).code(),
            absl::StatusCode::kDataLoss);
}

// The bytes of a version-1 chunk as every store before byte observations
// wrote them: seq 7, obs_dim 2, one transition obs {3, 300}, action 4,
// reward 0.5, done 1. Such chunks must keep decoding.
std::string VersionOneChunk() {
  const unsigned char bytes[] = {
      1, 0, 0, 0,    2,    0, 0, 0,  // version, pad, obs_dim
      7, 0, 0, 0,    0,    0, 0, 0,  // seq
      1, 0, 0, 0,    0,    0, 0, 0,  // count
      3, 0, 0, 0,    0x2c, 1, 0, 0,  // obs 3, 300
      4, 0, 0, 0,                    // action
      0, 0, 0, 0x3f,                 // reward 0.5f
      1};                            // done
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

TEST(KeyspaceTest, VersionOneChunksKeepTheirBytesAndStillDecode) {
  Transitions t;
  t.Resize(2, 1);
  t.obs = {3, 300};
  t.actions = {4};
  t.rewards = {0.5f};
  t.dones = {1};
  EXPECT_EQ(EncodeChunk(/*seq=*/7, t.view()), VersionOneChunk());
  EXPECT_EQ(EncodeChunk(/*seq=*/7, t.view(), ChunkObs::kInt32),
            VersionOneChunk());
  uint64_t seq = 0;
  Transitions back;
  ASSERT_TRUE(DecodeChunk(VersionOneChunk(), &seq, &back).ok());
  EXPECT_EQ(seq, 7u);
  EXPECT_EQ(back.obs, t.obs);
  EXPECT_EQ(back.actions, t.actions);
  EXPECT_EQ(back.rewards, t.rewards);
  EXPECT_EQ(back.dones, t.dones);
}

TEST(KeyspaceTest, ByteObservationChunksStoreOneBytePerComponent) {
  constexpr uint32_t kObsDim = 300;
  constexpr uint64_t kCount = 4;
  Transitions t;
  t.Resize(kObsDim, kCount);
  for (size_t i = 0; i < t.obs.size(); ++i) {
    t.obs[i] = static_cast<int32_t>((i * 7) % 256);
  }
  for (uint64_t i = 0; i < kCount; ++i) {
    t.actions[i] = static_cast<int32_t>(i);
    t.rewards[i] = 0.25f * i;
    t.dones[i] = i == kCount - 1;
  }
  const std::string value = EncodeChunk(/*seq=*/3, t.view(), ChunkObs::kBytes);
  EXPECT_EQ(value[0], 2);  // version 2
  EXPECT_EQ(value.size(), 24 + kCount * kObsDim + kCount * 9);
  uint64_t seq = 0;
  Transitions back;
  ASSERT_TRUE(DecodeChunk(value, &seq, &back).ok());
  EXPECT_EQ(seq, 3u);
  EXPECT_EQ(back.obs_dim, kObsDim);
  EXPECT_EQ(back.obs, t.obs);
  EXPECT_EQ(back.actions, t.actions);
  EXPECT_EQ(back.rewards, t.rewards);
  EXPECT_EQ(back.dones, t.dones);
  // Truncated, or read as the other version's length: corrupt, not a crash.
  EXPECT_EQ(DecodeChunk(value.substr(0, value.size() - 1), &seq, &back).code(),
            absl::StatusCode::kDataLoss);
  std::string as_int32 = value;
  as_int32[0] = 1;
  EXPECT_EQ(DecodeChunk(as_int32, &seq, &back).code(),
            absl::StatusCode::kDataLoss);
  std::string unknown = value;
  unknown[0] = 3;
  EXPECT_EQ(DecodeChunk(unknown, &seq, &back).code(),
            absl::StatusCode::kDataLoss);
  // A count too large for the value is corrupt (no overflow, no huge alloc).
  std::string huge = value;
  for (int i = 16; i < 24; ++i) huge[i] = '\xff';
  EXPECT_EQ(DecodeChunk(huge, &seq, &back).code(), absl::StatusCode::kDataLoss);
}

TEST(KeyspaceTest, HistoryPrefixEndBoundsExactlyOneHistorysKeys) {
  const std::string end = HistoryPrefixEnd("h1");
  EXPECT_LT(HistoryKey("h1", 0), end);
  EXPECT_LT(HistoryKey("h1", ~uint64_t{0}), end);
  EXPECT_GT(HistoryKey("h1.", 0), end);  // '.' > '\x01': another history
  EXPECT_LT(HistoryPrefix("h"), HistoryPrefix("h1"));
}

TEST(KeyspaceTest, EnvShapeRoundTrips) {
  uint32_t obs_dim = 0, num_actions = 0;
  ASSERT_TRUE(
      DecodeEnvShape(EncodeEnvShape(2, 5), &obs_dim, &num_actions).ok());
  EXPECT_EQ(obs_dim, 2u);
  EXPECT_EQ(num_actions, 5u);
  EXPECT_EQ(DecodeEnvShape("abc", &obs_dim, &num_actions).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ad::storage::keyspace
