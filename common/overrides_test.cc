#include "common/overrides.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ad {
namespace {

using Pieces = std::vector<std::string>;

TEST(SplitOverridesTest, SemicolonsAndAssignmentCommasSeparate) {
  EXPECT_EQ(SplitOverrides("a3c.streams=4;a3c.episodes=200"),
            (Pieces{"a3c.streams=4", "a3c.episodes=200"}));
  EXPECT_EQ(SplitOverrides("a3c.streams=4,a3c.episodes=200"),
            (Pieces{"a3c.streams=4", "a3c.episodes=200"}));
  EXPECT_EQ(SplitOverrides("a=1,b=2;c=3"), (Pieces{"a=1", "b=2", "c=3"}));
}

TEST(SplitOverridesTest, ListValuesKeepTheirCommas) {
  EXPECT_EQ(SplitOverrides("dqn.conv_channels=16,32,32"),
            (Pieces{"dqn.conv_channels=16,32,32"}));
  EXPECT_EQ(
      SplitOverrides("data.env=darkroom,darkroom_hard;model.obs_high="
                     "17, 17"),
      (Pieces{"data.env=darkroom,darkroom_hard", "model.obs_high=17, 17"}));
  EXPECT_EQ(SplitOverrides("x=1,2,y=3,4"), (Pieces{"x=1,2", "y=3,4"}));
}

TEST(SplitOverridesTest, BlanksAreDroppedAndPiecesTrimmed) {
  EXPECT_EQ(SplitOverrides(""), Pieces{});
  EXPECT_EQ(SplitOverrides(" ; ;"), Pieces{});
  EXPECT_EQ(SplitOverrides(" a = 1 ; b=2 ,"), (Pieces{"a = 1", "b=2"}));
}

TEST(SplitOverridesTest, PiecesWithoutAssignmentArePassedOnForTheCaller) {
  // "oops" has no '=': it is a piece of its own after ';' (the caller's
  // Override names it), and joins the value after ',' as list items do.
  EXPECT_EQ(SplitOverrides("a=1;oops"), (Pieces{"a=1", "oops"}));
  EXPECT_EQ(SplitOverrides("oops,a=1"), (Pieces{"oops", "a=1"}));
}

}  // namespace
}  // namespace ad
