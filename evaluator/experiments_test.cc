#include "evaluator/experiments.h"

#include <filesystem>
#include <string>
#include <vector>

#include "evaluator/cli.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/checkpoint.h"
#include "learner/config.h"
#include "learner/model.h"

namespace ad::evaluator {
namespace {

using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  return std::string(::testing::TempDir()) + "/" + name;
}

// A randomly initialised checkpoint of the test preset.
std::string WriteTestCheckpoint(const std::string& name) {
  absl::StatusOr<learner::LearnerConfig> config =
      learner::BuiltinPreset("test");
  CHECK(config.ok());
  torch::manual_seed(5);
  learner::CheckpointContents contents;
  contents.config = &*config;
  contents.model = *learner::CreateModel(config->model, torch::kCPU);
  const std::string path = TempDir(name);
  CHECK(learner::WriteCheckpoint(path, contents).ok());
  return path;
}

absl::Status ParseError(std::vector<std::string> args) {
  return ParseEvalArgs(args).status();
}

TEST(EvalSpecTest, BadSpecsAreRejectedNamingTheField) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"incontext", "--out", "x", "--seeds", "0"}, "seeds"},
      {{"incontext", "--out", "x", "--episodes", "-3"}, "episodes"},
      {{"incontext", "--out", "x", "--env", "atari"}, "env"},
      {{"incontext", "--out", "x", "--baselines", "random,oracle"},
       "baselines"},
      {{"incontext", "--out", "x", "--temperature", "-1"}, "temperature"},
      {{"incontext", "--out", "x", "--x", "time"}, "x_axis"},
      {{"incontext", "--seeds", "2"}, "out_dir"},
      {{"incontext", "--out", "x", "--seeds", "many"}, "--seeds"},
      {{"incontext", "--out", "x", "--colour", "red"}, "--colour"},
      {{"fig9", "--out", "x"}, "experiment"},
      {{"prompt", "--out", "x"}, "checkpoint"},
      {{"prompt", "--out", "x", "--checkpoint", "c", "--prompt_levels",
        "0.5,2"},
       "prompt_levels"},
      {{"context_sweep", "--out", "x", "--checkpoint", "c"}, "context_lens"},
      {{"context_sweep", "--out", "x", "--sweep_checkpoints", "nolabel"},
       "sweep_checkpoints"},
      {{"bandit_ood", "--out", "x"}, "bandit"},
      {{"transfer", "--out", "x", "--checkpoint", "c", "--env", "key_to_door"},
       "train_env"},
      {{"incontext", "--out", "x", "--train_fraction", "1.5"},
       "train_fraction"},
      {{"incontext", "--out", "x", "--store", "a:1", "--histories_dir", "d"},
       "histories_dir"},
  };
  for (const auto& [args, field] : cases) {
    absl::Status s = ParseError(args);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << args[0] << " " << field;
    EXPECT_THAT(s.message(), HasSubstr(field)) << s.message();
  }
  EXPECT_TRUE(ParseEvalArgs({"incontext", "--out=x", "--seeds=3"}).ok());
}

TEST(EvalSpecTest, UnknownTaskIdNamesTheTaskField) {
  EvalSpec spec;
  spec.out_dir = TempDir("unknown_task");
  spec.tasks = "darkroom/goal=1,2,darkroom/goal=12,0";
  auto report = RunExperiment(spec);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("tasks"));
}

TEST(ExperimentsTest, InContextBaselinesWriteCurves) {
  EvalSpec spec;
  spec.out_dir = TempDir("incontext_baselines");
  spec.seeds = 2;
  spec.episodes = 6;
  spec.max_tasks = 5;
  spec.plot = false;
  auto report = RunExperiment(spec);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->panels.size(), 1u);
  ASSERT_EQ(report->panels[0].curves.size(), 3u);
  EXPECT_EQ(report->panels[0].curves[0].returns.size(), 10u);
  ASSERT_TRUE(WriteExperimentOutputs(spec, *report).ok());
  EXPECT_TRUE(std::filesystem::exists(spec.out_dir + "/curves.csv"));
  EXPECT_TRUE(std::filesystem::exists(spec.out_dir + "/report.json"));
}

TEST(ExperimentsTest, ModelExperimentsRunOnACheckpoint) {
  const std::string checkpoint = WriteTestCheckpoint("exp_ckpt.pt");
  EvalSpec spec;
  spec.checkpoint = checkpoint;
  spec.ed_checkpoint = checkpoint;
  spec.baselines = {"heuristic", "ed"};
  spec.seeds = 2;
  spec.episodes = 3;
  spec.max_tasks = 3;
  spec.threads = 1;
  spec.plot = false;
  spec.out_dir = TempDir("model_experiments");
  for (const std::string experiment :
       {"incontext", "prompt", "context_sweep", "transfer"}) {
    spec.experiment = experiment;
    spec.prompt_levels = {0.0, 1.0};
    spec.context_lens = {5, 15};
    spec.train_env = "darkroom";
    spec.env = experiment == "transfer" ? "key_to_door" : "darkroom";
    auto report = RunExperiment(spec);
    ASSERT_TRUE(report.ok()) << experiment << ": " << report.status();
    EXPECT_FALSE(report->panels.empty());
    for (const Panel& panel : report->panels) {
      EXPECT_FALSE(panel.curves.empty()) << experiment;
      EXPECT_GT(panel.optimal, 0) << experiment;
    }
  }
}

}  // namespace
}  // namespace ad::evaluator
