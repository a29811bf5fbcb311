#include "envs/task_id.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(TaskIdReaderTest, ReadsLiteralsIntegersAndWords) {
  TaskIdReader reader("fam/size=12,kind=odd", "fam/size=N,kind=W");
  ASSERT_TRUE(reader.Literal("fam/size=").ok());
  EXPECT_EQ(*reader.Int("size"), 12);
  ASSERT_TRUE(reader.Literal(",kind=").ok());
  EXPECT_EQ(*reader.Word("kind"), "odd");
  EXPECT_TRUE(reader.End().ok());
}

TEST(TaskIdReaderTest, RejectsNonCanonicalIntegers) {
  for (const char* id : {"007", "+7", "-7", "", "1234567890"}) {
    TaskIdReader reader(id, "N");
    const absl::StatusOr<int32_t> value = reader.Int("n");
    EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_THAT(value.status().message(), HasSubstr("n")) << id;
  }
  TaskIdReader zero("0", "N");
  EXPECT_EQ(*zero.Int("n"), 0);
}

TEST(TaskIdReaderTest, ErrorsQuoteTheIdTheFormAndThePosition) {
  TaskIdReader reader("fam/sise=1", "fam/size=N");
  const absl::Status s = reader.Literal("fam/size=");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("\"fam/sise=1\""), HasSubstr("\"fam/size=N\""),
                    HasSubstr("position 0")));
  TaskIdReader trailing("12 ", "N");
  ASSERT_TRUE(trailing.Int("n").ok());
  EXPECT_THAT(trailing.End().message(),
              AllOf(HasSubstr("trailing"), HasSubstr("position 2")));
  const std::string with_newline("a\nb", 3);
  TaskIdReader control(with_newline, "N");
  EXPECT_THAT(control.Int("n").status().message(), HasSubstr("a\\nb"));
}

TEST(CheckTaskRangeTest, NamesFieldValueAndRange) {
  EXPECT_TRUE(CheckTaskRange("t", "x", 0, 0, 9).ok());
  EXPECT_TRUE(CheckTaskRange("t", "x", 8, 0, 9).ok());
  const absl::Status s = CheckTaskRange("t", "goal x", 9, 0, 9);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("goal x = 9"), HasSubstr("[0, 9)")));
}

}  // namespace
}  // namespace ad::envs
