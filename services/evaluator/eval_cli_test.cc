#include "services/evaluator/eval_cli.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/store/store_history_source.h"
#include "services/store/store_test_util.h"

namespace ad::services {
namespace {

using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  return std::string(::testing::TempDir()) + "/" + name;
}

// Runs `adctl eval WORDS...` in-process; returns the exit code.
int Eval(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  return RunEvalCommand(static_cast<int>(argv.size()), argv.data());
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

// The command line the issue quotes: `adctl eval transfer --env
// darkroom_hard` on a 9x9 model is a usage error and writes nothing. The
// checkpoint comes from `adctl eval make_checkpoint` (ten training steps).
TEST(EvalCommandTest, RejectsAMismatchedEnvAndWritesNothing) {
  const std::string dir = TempDir("cli_checkpoint");
  ASSERT_EQ(Eval({"make_checkpoint", "--kind", "ad", "--preset", "test",
                  "--steps", "10", "--streams", "1", "--episodes", "2",
                  "--threads", "1", "--out", dir}),
            0);
  std::string checkpoint;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".pt") checkpoint = entry.path().string();
  }
  ASSERT_FALSE(checkpoint.empty()) << "no checkpoint in " << dir;

  const std::string out = TempDir("cli_rejected");
  EXPECT_EQ(Eval({"transfer", "--checkpoint", checkpoint, "--train_env",
                  "darkroom", "--env", "darkroom_hard", "--seeds", "2",
                  "--episodes", "2", "--threads", "1", "--out", out}),
            2);
  EXPECT_FALSE(std::filesystem::exists(out));
}

// The evaluator's store-backed HistorySource reads exactly what a real
// ad-store (in-process, on loopback) holds.
TEST(StoreHistorySourceTest, ReadsWhatTheStoreHolds) {
  store::testing::InProcessStore server;
  const storage::HistoryRecord meta = storage::testing::MakeMeta("h1");
  const storage::Transitions transitions =
      storage::testing::MakeTransitions(/*tag=*/3, /*first=*/0, /*n=*/120);
  storage::TrajectoryStore::AppendRequest append;
  append.history_id = "h1";
  append.meta = &meta;
  append.chunk = transitions.view();
  append.final = true;
  ASSERT_TRUE(server.store().Append(append).ok());
  store::StoreClient::Options options;
  options.address = server.address();
  auto source = store::MakeStoreHistorySource(options);
  ASSERT_TRUE(source.ok()) << source.status();
  auto histories = (*source)->Histories(storage::testing::kSyntheticEnv,
                                        "darkroom/goal=1,1");
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 1u);
  EXPECT_EQ((*histories)[0].history_id(), "h1");
  EXPECT_EQ((*histories)[0].length(), 120u);
  auto range = (*source)->Transitions("h1", 45, 55);
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->actions_size(), 10);
  EXPECT_EQ(range->obs(1), 45);  // obs = {tag, t}
  EXPECT_EQ((*source)->Transitions("nope", 0, 1).status().code(),
            absl::StatusCode::kNotFound);

  options.address = "";
  EXPECT_EQ(store::MakeStoreHistorySource(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ad::services
