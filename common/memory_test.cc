#include "common/memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace ad {
namespace {

TEST(MemoryTest, TouchedPagesShowUpInResidentAndPeak) {
  const double before = ResidentMb();
  ASSERT_GT(before, 0) << "no VmRSS in /proc/self/status";
  constexpr size_t kBytes = 96 << 20;
  std::unique_ptr<char[]> block(new char[kBytes]);
  std::memset(block.get(), 1, kBytes);  // touch every page
  const double during = ResidentMb();
  // The kernel's own accounting, read independently: 96 MiB touched must
  // add at least 80 MiB (allowing for pages reused from freed memory).
  EXPECT_GE(during - before, 80) << "before " << before << " during " << during;
  // The kernel batches its per-thread RSS counters, so two reads can
  // disagree by a few pages: allow 2 MiB.
  constexpr double kSlackMb = 2;
  EXPECT_GE(PeakResidentMb(), during - kSlackMb);
  // Keep the block alive past the reads.
  volatile char sink = block[kBytes - 1];
  (void)sink;
  block.reset();
  // The peak remembers what the current size forgot.
  EXPECT_GE(PeakResidentMb(), during - kSlackMb);
  EXPECT_GE(PeakResidentMb() - ResidentMb(), 80 - kSlackMb)
      << "the freed block should leave the peak above the current size";
}

}  // namespace
}  // namespace ad
