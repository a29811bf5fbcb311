#include "envs/batch_checks.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "envs/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ExpandTaskIdsTest, OneForAllOrOnePerInstance) {
  const std::vector<std::string> one = {"a/x"};
  EXPECT_THAT(*ExpandTaskIds(one, 3), ElementsAre("a/x", "a/x", "a/x"));
  const std::vector<std::string> two = {"a/x", "a/y"};
  EXPECT_THAT(*ExpandTaskIds(two, 2), ElementsAre("a/x", "a/y"));
  EXPECT_THAT(ExpandTaskIds(two, 5).status().message(),
              HasSubstr("task_ids has 2 entries"));
  EXPECT_THAT(ExpandTaskIds(one, -1).status().message(),
              HasSubstr("num_envs = -1"));
  EXPECT_EQ(ExpandTaskIds(one, kMaxNumEnvs + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckStepArgsTest, ChecksSizesBeforeActions) {
  SpaceSpec space;
  space.family = "toy";
  space.obs_dim = 2;
  space.num_actions = 3;
  std::vector<int32_t> obs(4);
  std::vector<float> rewards(2);
  std::vector<uint8_t> dones(2);
  const StepOutput out{absl::MakeSpan(obs), absl::MakeSpan(rewards),
                       absl::MakeSpan(dones)};
  EXPECT_TRUE(CheckStepArgs(space, 2, std::vector<int32_t>{0, 2}, out).ok());
  EXPECT_THAT(
      CheckStepArgs(space, 2, std::vector<int32_t>{0, 3}, out).message(),
      AllOf(HasSubstr("actions[1] = 3"), HasSubstr("toy"),
            HasSubstr("[0, 3)")));
  EXPECT_THAT(
      CheckStepArgs(space, 3, std::vector<int32_t>{0, 9}, out).message(),
      HasSubstr("actions (one per instance) has 2 entries, expected "
                "3"));
}

TEST(ParseTaskIdsTest, ErrorsNameTheInstance) {
  auto parse = [](std::string_view id) -> absl::StatusOr<int> {
    if (id == "bad") return absl::InvalidArgumentError("no good");
    return static_cast<int>(id.size());
  };
  EXPECT_THAT(*ParseTaskIds<int>({"a", "bb", "bb"}, parse),
              ElementsAre(1, 2, 2));
  const absl::Status s = ParseTaskIds<int>({"a", "a", "bad"}, parse).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "task_ids[2]: no good");
}

}  // namespace
}  // namespace ad::envs
