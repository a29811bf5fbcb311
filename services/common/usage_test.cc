#include "services/common/usage.h"

#include "gtest/gtest.h"

namespace ad::services {
namespace {

TEST(ProjectPathTest, StripsTheCheckoutAndBuildDirectoryPrefixes) {
  EXPECT_EQ(ProjectPath("/work/main/services/store/main.cc"),
            "services/store/main.cc");
  EXPECT_EQ(ProjectPath("../services/common/flags.cc"),
            "services/common/flags.cc");
  EXPECT_EQ(ProjectPath("services/actor/main.cc"), "services/actor/main.cc");
  EXPECT_EQ(ProjectPath("/src/absl/flags/parse.cc"),
            "/src/absl/flags/parse.cc");
  // "services/" starts the repository path, not the nested "common/".
  EXPECT_EQ(ProjectPath("/x/services/common/usage.cc"),
            "services/common/usage.cc");
}

TEST(IsProjectFlagFileTest, AcceptsTheProjectsSourcesOnly) {
  EXPECT_TRUE(IsProjectFlagFile("/work/main/services/store/main.cc"));
  EXPECT_TRUE(IsProjectFlagFile("../services/actor/main.cc"));
  EXPECT_TRUE(IsProjectFlagFile("services/adctl/flags.cc"));
  EXPECT_FALSE(IsProjectFlagFile("absl/flags/parse.cc"));
  EXPECT_FALSE(IsProjectFlagFile("/build/abseil-cpp/absl/flags/flag.cc"));
  EXPECT_FALSE(IsProjectFlagFile("/usr/include/absl/services/x.cc"));
  EXPECT_FALSE(IsProjectFlagFile("main.cc"));
}

}  // namespace
}  // namespace ad::services
