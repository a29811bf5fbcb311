#include "storage/chunk_cache.h"

#include <gtest/gtest.h>

#include "storage/test_util.h"

namespace ad::storage {
namespace {

ChunkCache::Value Chunk(uint64_t n) {
  return std::make_shared<Transitions>(
      testing::MakeTransitions(/*tag=*/0, /*first=*/0, n));
}

TEST(ChunkCacheTest, ReturnsWhatWasInserted) {
  ChunkCache cache(/*capacity_bytes=*/1 << 20, /*num_shards=*/1);
  EXPECT_EQ(cache.Lookup({1, 0}), nullptr);
  auto chunk = Chunk(10);
  cache.Insert({1, 0}, chunk);
  EXPECT_EQ(cache.Lookup({1, 0}), chunk);
  EXPECT_EQ(cache.Lookup({1, 10}), nullptr);
  EXPECT_EQ(cache.Lookup({2, 0}), nullptr);
}

TEST(ChunkCacheTest, EvictsLeastRecentlyUsedWithinCapacity) {
  const size_t one = Chunk(100)->ByteSize();
  ChunkCache cache(/*capacity_bytes=*/3 * one + 300, /*num_shards=*/1);
  for (uint64_t i = 0; i < 3; ++i) cache.Insert({0, i}, Chunk(100));
  ASSERT_NE(cache.Lookup({0, 0}), nullptr);  // 0 becomes most recent
  cache.Insert({0, 3}, Chunk(100));          // evicts 1
  EXPECT_NE(cache.Lookup({0, 0}), nullptr);
  EXPECT_EQ(cache.Lookup({0, 1}), nullptr);
  EXPECT_NE(cache.Lookup({0, 3}), nullptr);
  EXPECT_LE(cache.usage_bytes(), cache.capacity_bytes());
}

TEST(ChunkCacheTest, ZeroCapacityCachesNothing) {
  ChunkCache cache(/*capacity_bytes=*/0);
  cache.Insert({0, 0}, Chunk(1));
  EXPECT_EQ(cache.Lookup({0, 0}), nullptr);
}

}  // namespace
}  // namespace ad::storage
