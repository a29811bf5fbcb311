#include "common/progress.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ad {
namespace {

TEST(ProgressTest, FormatsDurationsInTheLargestUsefulUnit) {
  EXPECT_EQ(Progress::FormatDuration(absl::Seconds(12)), "12s");
  EXPECT_EQ(Progress::FormatDuration(absl::Seconds(187)), "3m07s");
  EXPECT_EQ(Progress::FormatDuration(absl::Seconds(3720)), "1h02m");
  EXPECT_EQ(Progress::FormatDuration(absl::Seconds(-5)), "0s");
}

}  // namespace
}  // namespace ad
