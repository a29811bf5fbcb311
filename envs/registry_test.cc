#include "envs/registry.h"

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envs/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RegistryTest, ListsEveryFamily) {
  EXPECT_THAT(FamilyNames(), ElementsAre("darkroom", "darkroom_hard",
                                         "key_to_door", "bandit", "watermaze"));
}

TEST(RegistryTest, EveryFamilyHasItsTasksAndSpaces) {
  struct Expected {
    const char* name;
    size_t num_tasks;
    int obs_dim;
    int num_actions;
    int episode_len;
    bool obs_bytes;
  };
  for (const Expected& e :
       {Expected{"darkroom", 81, 2, 5, 20, false},
        Expected{"darkroom_hard", 289, 2, 5, 20, false},
        Expected{"key_to_door", 6561, 2, 5, 50, false},
        Expected{"bandit", 2000, 1, 10, 1, false},
        Expected{"watermaze", 640, 72 * 96 * 3, 8, 50, true}}) {
    SCOPED_TRACE(e.name);
    absl::StatusOr<const EnvFamily*> family = FindFamily(e.name);
    ASSERT_TRUE(family.ok()) << family.status();
    const SpaceSpec& space = (*family)->space();
    EXPECT_EQ(space.family, e.name);
    EXPECT_EQ(space.obs_dim, e.obs_dim);
    EXPECT_EQ(space.obs_high.size(), static_cast<size_t>(e.obs_dim));
    EXPECT_EQ(space.num_actions, e.num_actions);
    EXPECT_EQ(space.episode_len, e.episode_len);
    EXPECT_FALSE(space.description.empty());
    EXPECT_EQ(space.obs_bytes, e.obs_bytes);
    if (space.obs_bytes) {  // every component must fit a byte
      for (int32_t high : space.obs_high) ASSERT_LE(high, 256);
    }
    const std::vector<std::string> tasks = (*family)->AllTasks();
    EXPECT_EQ(tasks.size(), e.num_tasks);
    EXPECT_EQ(std::set<std::string>(tasks.begin(), tasks.end()).size(),
              e.num_tasks);
    for (const std::string& id : tasks) {
      ASSERT_TRUE((*family)->ValidateTask(id).ok()) << id;
      absl::StatusOr<const EnvFamily*> owner = FamilyOfTask(id);
      ASSERT_TRUE(owner.ok()) << owner.status();
      ASSERT_EQ(*owner, *family) << id;
    }
  }
}

TEST(RegistryTest, UnknownNamesAndMalformedIdsAreErrors) {
  absl::StatusOr<const EnvFamily*> family = FindFamily("labyrinth");
  EXPECT_EQ(family.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(family.status().message(),
              AllOf(HasSubstr("labyrinth"), HasSubstr("darkroom, ")));
  family = FamilyOfTask("nosuch/goal=1,1");
  EXPECT_EQ(family.status().code(), absl::StatusCode::kNotFound);
  family = FamilyOfTask("darkroom");
  EXPECT_EQ(family.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(family.status().message(), HasSubstr("<family>/<task>"));
  // A task of another family is malformed for this one.
  const EnvFamily* darkroom = *FindFamily("darkroom");
  EXPECT_EQ(darkroom->ValidateTask("darkroom_hard/goal=1,1").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(darkroom->ValidateTask("darkroom/goal=1,9").code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ad::envs
