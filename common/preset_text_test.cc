#include "common/preset_text.h"

#include <gtest/gtest.h>

namespace ad {
namespace {

TEST(PresetTextTest, SplitKeyValueAtTheFirstEqualsSign) {
  using KV = std::pair<absl::string_view, absl::string_view>;
  EXPECT_EQ(SplitKeyValue(" a3c.streams = 8 "), (KV{"a3c.streams", "8"}));
  EXPECT_EQ(SplitKeyValue("x=a=b"), (KV{"x", "a=b"}));
  EXPECT_EQ(SplitKeyValue(" = "), (KV{"", ""}));
  EXPECT_FALSE(SplitKeyValue("no equals").has_value());
}

TEST(PresetTextTest, ReadsAssignmentsCommentsAndBlanks) {
  auto parsed = ParsePresetText(
      "# header\n\n  a3c.streams = 8   # trailing comment\n"
      "model.obs_high = 9, 9\nempty =\n",
      "preset x");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].line, 3);
  EXPECT_EQ((*parsed)[0].key, "a3c.streams");
  EXPECT_EQ((*parsed)[0].value, "8");
  EXPECT_EQ((*parsed)[1].key, "model.obs_high");
  EXPECT_EQ((*parsed)[1].value, "9, 9");
  EXPECT_EQ((*parsed)[2].key, "empty");
  EXPECT_EQ((*parsed)[2].value, "");
}

TEST(PresetTextTest, OldColonLinesStillRead) {
  // Files written for the actors before the dialect was unified.
  auto parsed = ParsePresetText("a3c.streams: 8\nurl = http://x:1\n", "f");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].key, "a3c.streams");
  EXPECT_EQ((*parsed)[0].value, "8");
  // '=' wins when a line has both.
  EXPECT_EQ((*parsed)[1].key, "url");
  EXPECT_EQ((*parsed)[1].value, "http://x:1");
}

TEST(PresetTextTest, ErrorsNameOriginAndLine) {
  auto bad = ParsePresetText("a = 1\nno separator here\n", "my.cfg");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "my.cfg:2: expected 'key = value', got 'no separator here'");
  auto no_key = ParsePresetText(" = 3", "my.cfg");
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().message(), "my.cfg:1: empty key in '= 3'");
}

}  // namespace
}  // namespace ad
