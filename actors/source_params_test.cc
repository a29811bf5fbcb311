#include "actors/source_params.h"

#include "actors/source_registry.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

TEST(SourceParamsTest, SourceKeyOverridesGenericKey) {
  auto params = SourceParams::Parse(
      "# comment\nstreams = 4\n a3c.streams = 32  # trailing\n", "inline");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(*params->Int("a3c", "streams", 1), 32);
  EXPECT_EQ(*params->Int("dqn", "streams", 1), 4);
  EXPECT_EQ(*params->Int("dqn", "episodes", 9), 9);
}

TEST(SourceParamsTest, MalformedLineNamesTheLine) {
  auto params = SourceParams::Parse("streams = 4\nbogus line\n", "inline");
  EXPECT_EQ(params.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(params.status().message().find("inline:2:"), std::string::npos)
      << params.status();
  auto empty = SourceParams::Parse("streams = 4\na3c.streams =\n", "inline");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("inline:2:"), std::string::npos)
      << empty.status();
}

TEST(SourceParamsTest, PresetFilesOfTheOldColonFormStillRead) {
  auto params = SourceParams::Parse("streams: 4\na3c.streams: 32\n", "old");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(*params->Int("a3c", "streams", 1), 32);
  EXPECT_EQ(*params->Int("dqn", "streams", 1), 4);
}

TEST(SourceParamsTest, NonNumberIsAnError) {
  SourceParams params;
  ASSERT_TRUE(params.Override("a3c.learning_rate=fast").ok());
  EXPECT_EQ(params.Double("a3c", "learning_rate", 1e-4).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Found by fuzz/actors_preset_fuzz: " =2.1" was stored under an empty key.
TEST(SourceParamsTest, OverrideWithBlankKeyOrValueIsRejected) {
  SourceParams params;
  for (const char* bad :
       {" =2.1", "\t= 2.1", "a3c.streams= ", "=", " = ", "no_equals"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(params.Override(bad).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(params.values().empty());
  ASSERT_TRUE(params.Override(" a3c.streams = 8 ").ok());
  EXPECT_EQ(params.values().at("a3c.streams"), "8");
}

TEST(SourceParamsTest, UnreadSourceKeyIsReported) {
  SourceParams params;
  ASSERT_TRUE(params.Override("a3c.learning_rat=1e-3").ok());
  ASSERT_TRUE(params.Double("a3c", "learning_rate", 1e-4).ok());
  absl::Status s = params.CheckAllUsed("a3c");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("a3c.learning_rat"), std::string::npos);
}

TEST(SourceParamsTest, CompiledPresetsLoadAndGiveValidBudgets) {
  for (const char* name : {"test", "cpu-demo", "paper"}) {
    SCOPED_TRACE(name);
    auto params = SourceParams::LoadPreset(name);
    ASSERT_TRUE(params.ok()) << params.status();
    for (const std::string& source : SourceNames()) {
      EXPECT_TRUE(BudgetFor(source, *params).ok()) << source;
    }
  }
  auto paper = SourceParams::LoadPreset("paper");
  EXPECT_EQ(*paper->Int("a3c", "streams", 0), 100);
  EXPECT_EQ(SourceParams::LoadPreset("nope").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ad::actors
