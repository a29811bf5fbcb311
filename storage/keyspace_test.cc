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
