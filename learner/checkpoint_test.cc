#include "learner/checkpoint.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::learner {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) /
                 (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir.string();
}

LearnerConfig TinyConfig() {
  auto config = BuiltinPreset("test");
  CHECK(config.ok()) << config.status();
  return *config;
}

ModelInput SomeInput() {
  torch::Tensor obs = torch::randint(0, 9, {2, 6, 2}, torch::kLong);
  torch::Tensor actions = torch::randint(0, 5, {2, 6}, torch::kLong);
  torch::Tensor rewards = torch::randint(0, 2, {2, 6}).to(torch::kFloat);
  torch::Tensor dones = torch::zeros({2, 6});
  return TransitionsToInput(obs, actions, rewards, dones);
}

TEST(CheckpointTest, RoundTripRestoresConfigStepAndOutputs) {
  LearnerConfig config = TinyConfig();
  auto model = CreateModel(config.model, torch::kCPU);
  ASSERT_TRUE(model.ok());
  CheckpointContents contents;
  contents.config = &config;
  contents.model = *model;
  contents.step = 1234;
  const std::string dir = TempDir("ckpt-roundtrip");
  fs::create_directories(dir);
  const std::string path = dir + "/a.pt";
  ASSERT_TRUE(WriteCheckpoint(path, contents).ok());

  auto loaded = LoadCheckpoint(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->step, 1234);
  EXPECT_TRUE(loaded->config == config);
  (*model)->eval();
  loaded->model->eval();
  torch::NoGradGuard no_grad;
  ModelInput in = SomeInput();
  EXPECT_TRUE((*model)->Forward(in).equal(loaded->model->Forward(in)));

  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)),
                    std::istreambuf_iterator<char>());
  auto from_bytes = LoadCheckpointFromBytes(bytes);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status();
  EXPECT_EQ(from_bytes->step, 1234);
}

TEST(CheckpointTest, CorruptOrMissingFileIsAnError) {
  const std::string dir = TempDir("ckpt-corrupt");
  fs::create_directories(dir);
  EXPECT_EQ(LoadCheckpoint(dir + "/missing.pt").status().code(),
            absl::StatusCode::kNotFound);
  {
    std::ofstream out(dir + "/garbage.pt");
    out << "this is not a checkpoint";
  }
  EXPECT_FALSE(LoadCheckpoint(dir + "/garbage.pt").ok());
  EXPECT_FALSE(LoadCheckpointFromBytes("").ok());
}

TEST(CheckpointTest, DirKeepsTheNewestAndIgnoresTemporaries) {
  LearnerConfig config = TinyConfig();
  auto model = CreateModel(config.model, torch::kCPU);
  ASSERT_TRUE(model.ok());
  auto dir = CheckpointDir::Open({TempDir("ckpt-dir"), /*keep=*/2});
  ASSERT_TRUE(dir.ok()) << dir.status();
  {
    std::ofstream tmp(dir->directory() + "/.tmp-ckpt-000000000009.pt-1");
    tmp << "partial";
  }
  CheckpointContents contents;
  contents.config = &config;
  contents.model = *model;
  for (int64_t step : {10, 20, 30}) {
    contents.step = step;
    auto path = dir->Save(contents);
    ASSERT_TRUE(path.ok()) << path.status();
    EXPECT_EQ(*path, dir->PathForStep(step));
  }
  auto files = dir->List();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].step, 20);
  EXPECT_EQ((*files)[1].step, 30);
  EXPECT_GT((*files)[1].bytes, 0u);
  auto latest = dir->Latest();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->step, 30);
  EXPECT_TRUE(dir->Find(20).ok());
  EXPECT_EQ(dir->Find(10).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ad::learner
