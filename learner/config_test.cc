#include "learner/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::learner {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTest, BuiltinPresetsParseAndValidate) {
  for (const std::string& name : BuiltinPresetNames()) {
    auto config = BuiltinPreset(name);
    ASSERT_TRUE(config.ok()) << name << ": " << config.status();
    EXPECT_EQ(config->preset, name);
  }
  EXPECT_THAT(BuiltinPresetNames(),
              ::testing::IsSupersetOf({"paper", "cpu-demo", "test"}));
}

TEST(ConfigTest, PaperPresetMatchesAppendixL) {
  auto config = BuiltinPreset("paper");
  ASSERT_TRUE(config.ok()) << config.status();
  const ModelOptions& m = config->model;
  EXPECT_EQ(m.embed_dim, 64);
  EXPECT_EQ(m.num_layers, 4);
  EXPECT_EQ(m.num_heads, 4);
  EXPECT_EQ(m.ff_dim, 2048);
  EXPECT_TRUE(m.post_norm);
  EXPECT_DOUBLE_EQ(m.dropout, 0.1);
  EXPECT_DOUBLE_EQ(m.attention_dropout, 0.5);
  EXPECT_DOUBLE_EQ(m.sequence_mask_prob, 0.3);
  const TrainOptions& t = config->train;
  EXPECT_EQ(t.batch_size, 128);
  EXPECT_DOUBLE_EQ(t.adam_beta1, 0.9);
  EXPECT_DOUBLE_EQ(t.adam_beta2, 0.99);
  EXPECT_DOUBLE_EQ(t.grad_clip_norm, 1.0);
  EXPECT_DOUBLE_EQ(t.lr_init, 2e-6);
  EXPECT_DOUBLE_EQ(t.lr_peak, 3e-4);
}

TEST(ConfigTest, FormatRoundTrips) {
  auto config = BuiltinPreset("cpu-demo");
  ASSERT_TRUE(config.ok()) << config.status();
  config->train.lr_peak = 1.0 / 3.0;  // needs all 17 digits
  auto again = ParseConfig(FormatConfig(*config), "formatted");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again == *config) << FormatConfig(*again);
}

TEST(ConfigTest, UnknownKeyIsNamedWithLine) {
  auto config =
      ParseConfig("model.embed_dim = 32\nmodel.embd_dim = 4\n", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("x.cfg:2"));
  EXPECT_THAT(config.status().message(), HasSubstr("'model.embd_dim'"));
}

TEST(ConfigTest, MalformedValueNamesKey) {
  auto config = ParseConfig("train.batch_size = lots", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("'train.batch_size'"));
  EXPECT_THAT(config.status().message(), HasSubstr("lots"));
}

// Found by fuzz/learner_config_fuzz's oracle: 4294967360 was cast into the
// int field and became a valid 64.
TEST(ConfigTest, IntegerTooLargeForTheFieldIsRejectedNotWrapped) {
  auto config = ParseConfig("model.embed_dim = 4294967360", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("'model.embed_dim'"));
  EXPECT_THAT(config.status().message(), HasSubstr("2147483647"));
  LearnerConfig overridden;
  EXPECT_FALSE(
      ApplyOverrides({"train.batch_size = 4294967424"}, overridden).ok());
  EXPECT_EQ(overridden.train.batch_size, LearnerConfig().train.batch_size);
  // 64-bit fields still take 64-bit values.
  auto wide = ParseConfig("train.steps = 4294967360", "x.cfg");
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ(wide->train.steps, int64_t{4294967360});
}

TEST(ConfigTest, DuplicateKeyIsRejected) {
  auto config = ParseConfig("model.ff_dim = 8\nmodel.ff_dim = 9", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("set twice"));
}

TEST(ConfigTest, ValidateNamesOutOfRangeKey) {
  auto config =
      ParseConfig("model.embed_dim = 30\nmodel.num_heads = 4\n", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("model.num_heads"));
  config = ParseConfig("model.dropout = 1.5", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("model.dropout"));
  config = ParseConfig("model.obs_dim = 3", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("model.obs_high"));
}

TEST(ConfigTest, OnlyTheTrainSplitIsAccepted) {
  auto config = ParseConfig("data.split = test", "x.cfg");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("data.split"));
}

TEST(ConfigTest, SeveralFamiliesAreCommaSeparatedWithoutEmptyNames) {
  auto two = ParseConfig("data.env = darkroom,darkroom_hard", "x.cfg");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->data.env, "darkroom,darkroom_hard");
  for (const char* bad : {"data.env = darkroom,", "data.env = ,darkroom",
                          "data.env = darkroom,,key_to_door"}) {
    auto config = ParseConfig(bad, "x.cfg");
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(config.status().message(), HasSubstr("data.env")) << bad;
  }
}

TEST(ConfigTest, OverridesApplyAndValidate) {
  auto config = BuiltinPreset("test");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(
      ApplyOverrides({"train.steps=42", "model.dropout = 0.2"}, *config).ok());
  EXPECT_EQ(config->train.steps, 42);
  EXPECT_DOUBLE_EQ(config->model.dropout, 0.2);
  EXPECT_FALSE(ApplyOverrides({"train.nope=1"}, *config).ok());
  EXPECT_FALSE(ApplyOverrides({"train.batch_size=0"}, *config).ok());
}

TEST(ConfigTest, UnknownPresetListsKnownOnes) {
  auto config = BuiltinPreset("huge");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("paper"));
}

}  // namespace
}  // namespace ad::learner
