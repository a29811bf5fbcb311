#include "evaluator/experiments.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "envs/bandit.h"
#include "envs/registry.h"
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

// A randomly initialised checkpoint of the test preset (a window of 16
// tokens), shaped for the env family `env`.
std::string WriteTestCheckpoint(const std::string& name,
                                const std::string& env = "darkroom") {
  absl::StatusOr<learner::LearnerConfig> config =
      learner::BuiltinPreset("test");
  CHECK(config.ok());
  const envs::SpaceSpec& space = (**envs::FindFamily(env)).space();
  config->model.obs_dim = space.obs_dim;
  config->model.obs_high = space.obs_high;
  config->model.num_actions = space.num_actions;
  config->data.env = env;
  torch::manual_seed(5);
  learner::CheckpointContents contents;
  contents.config = &*config;
  contents.model = *learner::CreateModel(config->model, torch::kCPU);
  const std::string path = TempDir(name);
  CHECK(learner::WriteCheckpoint(path, contents).ok());
  return path;
}

TEST(EvalSpecTest, UnknownTaskIdNamesTheTaskField) {
  EvalSpec spec;
  spec.out_dir = TempDir("unknown_task");
  spec.tasks = "darkroom/goal=1,2,darkroom/goal=12,0";
  auto report = RunExperiment(spec);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("tasks"));
}

TEST(EvalSpecTest, UnknownExperimentListsTheRegisteredOnes) {
  EvalSpec spec;
  spec.out_dir = TempDir("unknown_experiment");
  spec.experiment = "incontxt";
  const absl::Status s = spec.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("want one of incontext, prompt, context_sweep, "
                        "bandit_ood, transfer"));
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

// The task id of a curve row labelled "task#seed=N".
std::string RowTask(const std::string& label) {
  return label.substr(0, label.find('#'));
}

// The exact expected return of the uniformly random policy on a plain Dark
// Room task, computed from the rules (9x9, start at the centre, 5 actions
// of which a move into a wall stays, r = 1 on every step that ends on the
// goal, 20 steps) by propagating the distribution over cells -- independent
// of the environment code and the rollout loop.
double RandomDarkRoomReturn(int goal_x, int goal_y) {
  constexpr int kSize = 9;
  constexpr int kDx[5] = {0, 0, 0, -1, 1};
  constexpr int kDy[5] = {0, 1, -1, 0, 0};
  std::vector<double> p(kSize * kSize, 0.0);
  p[4 * kSize + 4] = 1.0;
  double expected = 0;
  for (int step = 0; step < 20; ++step) {
    std::vector<double> next(p.size(), 0.0);
    for (int x = 0; x < kSize; ++x) {
      for (int y = 0; y < kSize; ++y) {
        for (int a = 0; a < 5; ++a) {
          int nx = x + kDx[a], ny = y + kDy[a];
          if (nx < 0 || nx >= kSize) nx = x;
          if (ny < 0 || ny >= kSize) ny = y;
          next[nx * kSize + ny] += p[x * kSize + y] / 5;
        }
      }
    }
    p = std::move(next);
    expected += p[goal_x * kSize + goal_y];
  }
  return expected;
}

// Every curve of a rollout: one row per task x seed, `episodes` returns per
// row, each within [0, the row's optimal return], std >= 0; the optimal
// baseline earns exactly each task's optimal return.
void ExpectRolloutCurvesAreSound(const Report& report, const EvalSpec& spec,
                                 const std::string& env, const Panel& panel,
                                 int tasks) {
  const envs::EnvFamily& family = **envs::FindFamily(env);
  EXPECT_FALSE(panel.curves.empty()) << panel.title;
  for (const Curve& curve : panel.curves) {
    SCOPED_TRACE(report.experiment + " / " + panel.title + " / " +
                 curve.method);
    ASSERT_EQ(curve.returns.size(), static_cast<size_t>(tasks * spec.seeds));
    ASSERT_EQ(curve.row_labels.size(), curve.returns.size());
    ASSERT_EQ(curve.Episodes(), spec.episodes);
    for (size_t r = 0; r < curve.returns.size(); ++r) {
      absl::StatusOr<double> optimal =
          family.OptimalReturn(RowTask(curve.row_labels[r]));
      ASSERT_TRUE(optimal.ok()) << curve.row_labels[r];
      ASSERT_EQ(curve.returns[r].size(), static_cast<size_t>(spec.episodes));
      for (float ret : curve.returns[r]) {
        EXPECT_GE(ret, 0.0f) << curve.row_labels[r];
        EXPECT_LE(ret, *optimal + 1e-6) << curve.row_labels[r];
        if (curve.method == "optimal") {
          EXPECT_NEAR(ret, *optimal, 1e-6) << curve.row_labels[r];
        }
      }
    }
    for (int e = 0; e < curve.Episodes(); ++e) {
      EXPECT_GE(curve.Std(e), 0.0);
      EXPECT_EQ(curve.Count(e), tasks * spec.seeds);
      EXPECT_GE(curve.Mean(e), 0.0);
      EXPECT_LE(curve.Mean(e), panel.optimal + 1e-6);
      if (curve.method == "optimal") {
        EXPECT_NEAR(curve.Mean(e), panel.optimal, 1e-6);
      }
    }
  }
}

TEST(ExperimentsTest, ModelExperimentsRunOnACheckpoint) {
  const std::string checkpoint = WriteTestCheckpoint("exp_ckpt.pt");
  EvalSpec spec;
  spec.checkpoint = checkpoint;
  spec.ed_checkpoint = checkpoint;
  spec.baselines = {"heuristic", "ed", "random", "optimal"};
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
    EXPECT_EQ(report->experiment, experiment);
    EXPECT_EQ(report->env, spec.env);
    std::vector<std::string> envs = {spec.env};
    if (experiment == "prompt") envs = {"darkroom", "darkroom"};
    if (experiment == "transfer") envs = {"darkroom", "key_to_door"};
    ASSERT_EQ(report->panels.size(), envs.size()) << experiment;
    for (size_t p = 0; p < envs.size(); ++p) {
      const Panel& panel = report->panels[p];
      const envs::EnvFamily& family = **envs::FindFamily(envs[p]);
      // The panel's optimal is the mean of its tasks' optimal returns.
      double optimal = 0;
      const Curve& first = panel.curves.front();
      for (const std::string& label : first.row_labels) {
        optimal += *family.OptimalReturn(RowTask(label));
      }
      EXPECT_NEAR(panel.optimal, optimal / first.row_labels.size(), 1e-6)
          << experiment;
      ExpectRolloutCurvesAreSound(*report, spec, envs[p], panel,
                                  /*tasks=*/3);
      std::vector<std::string> methods;
      for (const Curve& c : panel.curves) methods.push_back(c.method);
      // The random baseline, where it runs, earns well below the optimum.
      for (const Curve& c : panel.curves) {
        if (c.method != "random") continue;
        EXPECT_LT(c.WindowMean(1, c.Episodes()), 0.5 * panel.optimal)
            << experiment;
      }
      if (experiment == "prompt") {
        EXPECT_THAT(panel.title,
                    HasSubstr(p == 0 ? "prompt at 0%" : "prompt at 100%"));
      }
      if (experiment == "incontext") {
        EXPECT_THAT(methods, ::testing::UnorderedElementsAre(
                                 "ad", "ed", "heuristic", "random", "optimal"));
      } else if (experiment == "prompt") {
        EXPECT_THAT(methods,
                    ::testing::UnorderedElementsAre("ad", "ed", "heuristic"));
      } else if (experiment == "context_sweep") {
        EXPECT_THAT(methods, ::testing::UnorderedElementsAre(
                                 "ad ctx=5", "ad ctx=15", "heuristic"));
      } else {
        EXPECT_THAT(methods,
                    ::testing::IsSupersetOf({"ad", "ed", "random", "optimal"}));
      }
    }
  }
}

// The random baseline's Dark Room return agrees with the exact expectation
// computed from the rules, within 4 standard errors.
TEST(ExperimentsTest, RandomBaselineMatchesTheExactExpectation) {
  EvalSpec spec;
  spec.baselines = {"random"};
  spec.tasks = "darkroom/goal=4,5,darkroom/goal=5,6,darkroom/goal=2,4";
  spec.seeds = 40;
  spec.episodes = 5;
  spec.plot = false;
  spec.out_dir = TempDir("random_exact");
  auto report = RunExperiment(spec);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->panels.size(), 1u);
  ASSERT_EQ(report->panels[0].curves.size(), 1u);
  const Curve& random = report->panels[0].curves[0];
  ASSERT_EQ(random.returns.size(), 3u * 40u);
  double sum = 0, sum_sq = 0, want = 0;
  int n = 0;
  for (size_t r = 0; r < random.returns.size(); ++r) {
    const std::string task = RowTask(random.row_labels[r]);
    int gx = 0, gy = 0;
    ASSERT_EQ(sscanf(task.c_str(), "darkroom/goal=%d,%d", &gx, &gy), 2);
    const double expected = RandomDarkRoomReturn(gx, gy);
    for (float ret : random.returns[r]) {
      sum += ret - expected;
      sum_sq += (ret - expected) * (ret - expected);
      want += expected;
      ++n;
    }
  }
  const double mean_error = sum / n;
  const double se = std::sqrt(sum_sq / n - mean_error * mean_error) /
                    std::sqrt(static_cast<double>(n));
  EXPECT_GT(want / n, 0.5);  // the goals are near the start: a real signal
  EXPECT_LT(std::abs(mean_error), 4 * se + 1e-9)
      << "random mean " << (sum + want) / n << " vs exact " << want / n;
}

// Fig. 3 on a tiny bandit checkpoint: an in-distribution (odd regime) and an
// out-of-distribution (even regime) panel, each with AD, random and optimal
// on every task x seed; every pull pays 0 or 1; the panels' optimal is the
// mean best-arm probability of their tasks, random earns about the mean arm
// probability, and the normalised scores are reported for AD in both.
TEST(ExperimentsTest, BanditOodReportsBothRegimes) {
  EvalSpec spec;
  spec.experiment = "bandit_ood";
  spec.env = "bandit";
  spec.checkpoint = WriteTestCheckpoint("bandit_ckpt.pt", "bandit");
  spec.baselines = {"random", "optimal"};
  spec.seeds = 4;
  spec.episodes = 50;  // pulls per row
  spec.max_tasks = 5;
  spec.threads = 1;
  spec.plot = false;
  spec.out_dir = TempDir("bandit_ood");
  auto report = RunExperiment(spec);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->panels.size(), 2u);
  EXPECT_THAT(report->panels[0].title, HasSubstr("in distribution"));
  EXPECT_THAT(report->panels[1].title, HasSubstr("out of distribution"));
  for (int p = 0; p < 2; ++p) {
    const Panel& panel = report->panels[p];
    const char* regime = p == 0 ? "regime=odd" : "regime=even";
    SCOPED_TRACE(panel.title);
    std::vector<std::string> methods;
    for (const Curve& c : panel.curves) methods.push_back(c.method);
    EXPECT_THAT(methods,
                ::testing::UnorderedElementsAre("ad", "random", "optimal"));
    double best = 0, average = 0;
    const Curve& first = panel.curves.front();
    ASSERT_EQ(first.row_labels.size(), 5u * 4u);
    for (const std::string& label : first.row_labels) {
      EXPECT_THAT(label, HasSubstr(regime));
      absl::StatusOr<envs::BanditTask> task =
          envs::ParseBanditTask(RowTask(label));
      ASSERT_TRUE(task.ok()) << label;
      const std::array<double, envs::kBanditArms> probs =
          envs::BanditArmProbabilities(*task);
      best += *std::max_element(probs.begin(), probs.end());
      for (double q : probs) average += q / envs::kBanditArms;
    }
    best /= first.row_labels.size();
    average /= first.row_labels.size();
    EXPECT_NEAR(panel.optimal, best, 1e-6);
    for (const Curve& curve : panel.curves) {
      SCOPED_TRACE(curve.method);
      ASSERT_EQ(curve.returns.size(), 5u * 4u);
      EXPECT_EQ(curve.Episodes(), 50);
      double sum = 0;
      int n = 0;
      for (const std::vector<float>& row : curve.returns) {
        ASSERT_EQ(row.size(), 50u);
        for (float ret : row) {
          EXPECT_TRUE(ret == 0.0f || ret == 1.0f) << ret;
          sum += ret;
          ++n;
        }
      }
      const double mean = sum / n;
      // 1000 Bernoulli pulls: a standard error below 0.016.
      if (curve.method == "random") {
        EXPECT_NEAR(mean, average, 0.07);
      }
      if (curve.method == "optimal") {
        EXPECT_NEAR(mean, best, 0.07);
      }
    }
  }
  int ad_scores = 0;
  for (const std::string& note : report->notes) {
    if (note.find(" ad: mean reward per pull") != std::string::npos) {
      ++ad_scores;
    }
  }
  EXPECT_EQ(ad_scores, 2);
}

// Counts what a run did before it stopped: rollout steps poll `cancelled`,
// finished episodes call `on_progress`.
struct HookCounts {
  int polls = 0;
  int progress = 0;
  ExperimentHooks Hooks() {
    ExperimentHooks hooks;
    hooks.cancelled = [this] {
      ++polls;
      return false;
    };
    hooks.on_progress = [this](const std::string&, int, int, int, int) {
      ++progress;
    };
    return hooks;
  }
};

// Issue 11/15: a spec the model cannot serve fails before any rollout, with
// an error naming the field and both values, and leaves no output.
TEST(ExperimentsTest, WholeSpecIsCheckedBeforeAnyRollout) {
  const std::string darkroom = WriteTestCheckpoint("fit_darkroom.pt");
  const std::string bandit = WriteTestCheckpoint("fit_bandit.pt", "bandit");
  const std::string not_a_dir = TempDir("not_a_dir");
  { std::ofstream(not_a_dir) << "x"; }
  struct Case {
    std::string what;
    std::function<void(EvalSpec&)> edit;
    std::vector<std::string> message;  // substrings of the error
  };
  const std::vector<Case> cases = {
      {"transfer to a larger grid",
       [&](EvalSpec& s) {
         s.experiment = "transfer";
         s.train_env = "darkroom";
         s.env = "darkroom_hard";
         s.checkpoint = darkroom;
       },
       {"checkpoint", "darkroom_hard", "obs_high", "[17, 17]", "[9, 9]"}},
      {"bandit_ood with a grid model",
       [&](EvalSpec& s) {
         s.experiment = "bandit_ood";
         s.env = "bandit";
         s.checkpoint = darkroom;
       },
       {"checkpoint", "obs_dim 1", "2"}},
      {"ED of another family",
       [&](EvalSpec& s) {
         s.checkpoint = darkroom;
         s.ed_checkpoint = bandit;
         s.baselines = {"random", "ed"};
       },
       {"ed_checkpoint", "obs_dim 2", "1"}},
      {"a context length beyond the window, listed last",
       [&](EvalSpec& s) {
         s.experiment = "context_sweep";
         s.checkpoint = darkroom;
         s.context_lens = {5, 16};
       },
       {"context_lens is 16", "16 tokens", "at most 15"}},
      {"context_len beyond the window",
       [&](EvalSpec& s) {
         s.checkpoint = darkroom;
         s.context_len = 40;
       },
       {"context_len is 40", "at most 15"}},
      {"tasks of the first family only",
       [&](EvalSpec& s) {
         s.experiment = "transfer";
         s.train_env = "darkroom";
         s.env = "key_to_door";
         s.checkpoint = darkroom;
         s.tasks = "darkroom/goal=1,2";
       },
       {"key_to_door", "tasks"}},
      {"demo source on the bandit",
       [&](EvalSpec& s) {
         s.experiment = "bandit_ood";
         s.env = "bandit";
         s.baselines = {"random", "source"};
         s.demo_source = "q_learning:10";
       },
       {"demo_source", "bandit"}},
      {"out_dir is a file",
       [&](EvalSpec& s) {
         s.checkpoint = darkroom;
         s.out_dir = not_a_dir;
       },
       {"out_dir", not_a_dir}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EvalSpec spec;
    spec.seeds = 2;
    spec.episodes = 2;
    spec.max_tasks = 2;
    spec.threads = 1;
    spec.plot = false;
    spec.out_dir = TempDir("rejected_" + std::to_string(&c - cases.data()));
    c.edit(spec);
    HookCounts counts;
    auto report = RunExperiment(spec, counts.Hooks());
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument)
        << report.status();
    for (const std::string& part : c.message) {
      EXPECT_THAT(report.status().message(), HasSubstr(part));
    }
    EXPECT_EQ(counts.polls, 0) << "a rollout ran before the error";
    EXPECT_EQ(counts.progress, 0);
    EXPECT_EQ(ValidateExperiment(spec).code(),
              absl::StatusCode::kInvalidArgument);
    if (spec.out_dir != not_a_dir) {
      EXPECT_FALSE(std::filesystem::exists(spec.out_dir));
    }
  }
  // A checkpoint that does not load is named with its field.
  EvalSpec missing;
  missing.out_dir = TempDir("rejected_missing");
  missing.ed_checkpoint = darkroom + ".nope";
  missing.baselines = {"ed"};
  absl::Status s = ValidateExperiment(missing);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("ed_checkpoint"));
  EXPECT_THAT(s.message(), HasSubstr(".nope"));
}

// A spec naming a store needs a program that can open one: the evaluator
// library has no gRPC, so without ExperimentHooks::open_store the run fails
// before any rollout, and with one it asks the opener for that address.
TEST(ExperimentsTest, StoreSpecUsesTheInjectedOpener) {
  EvalSpec spec;
  spec.out_dir = TempDir("store_opener");
  spec.store = "127.0.0.1:1";
  spec.baselines = {"source"};
  spec.seeds = 1;
  spec.episodes = 1;
  spec.max_tasks = 1;
  auto report = RunExperiment(spec);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("127.0.0.1:1"));

  std::vector<std::string> opened;
  ExperimentHooks hooks;
  hooks.open_store = [&](const std::string& address)
      -> absl::StatusOr<std::unique_ptr<HistorySource>> {
    opened.push_back(address);
    return absl::UnavailableError("no store here");
  };
  report = RunExperiment(spec, hooks);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(report.status().message(), HasSubstr("no store here"));
  EXPECT_EQ(opened, std::vector<std::string>{"127.0.0.1:1"});
}

}  // namespace
}  // namespace ad::evaluator
