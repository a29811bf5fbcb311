#include "common/rng.h"

#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace ad {
namespace {

TEST(SplitMix64Test, MatchesTheReferenceSequence) {
  // Outputs of the reference SplitMix64 seeded with 0; pins the generator so
  // that recorded trajectories replay on every machine.
  SplitMix64 rng(0);
  EXPECT_EQ(rng.Next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rng.Next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(rng.Next(), 0x06c45d188009454fULL);
}

TEST(SplitMix64Test, NextBelowAndNextUnitStayInRange) {
  SplitMix64 rng(7);
  std::vector<int> counts(9, 0);
  for (int i = 0; i < 9000; ++i) {
    const uint32_t v = rng.NextBelow(9);
    ASSERT_LT(v, 9u);
    ++counts[v];
    const double u = rng.NextUnit();
    ASSERT_TRUE(u >= 0.0 && u < 1.0);
  }
  for (int c : counts) EXPECT_NEAR(c, 1000, 150);
}

TEST(InstanceSeedTest, DiffersAcrossInstancesAndSeeds) {
  std::set<uint64_t> seeds;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    for (uint64_t i = 0; i < 256; ++i) seeds.insert(InstanceSeed(seed, i));
  }
  EXPECT_EQ(seeds.size(), 8u * 256u);
}

}  // namespace
}  // namespace ad
