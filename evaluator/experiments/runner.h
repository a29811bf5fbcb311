// The machinery every experiment shares: the Runner (checkpoints loaded
// once per run, rollouts counted towards progress, the baselines and the
// source histories) and the helpers that turn an EvalSpec's task selection
// into rollout rows.
//
// Made by RunExperiment / ValidateExperiment (evaluator/experiments.h) for
// one run and handed to the experiment (experiment.h); it borrows the spec
// and the hooks, which outlive it. Runs on the calling thread; Run blocks
// for a whole rollout.
#ifndef AD_EVALUATOR_EXPERIMENTS_RUNNER_H_
#define AD_EVALUATOR_EXPERIMENTS_RUNNER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/env.h"
#include "evaluator/curves.h"
#include "evaluator/demo_checkpoints.h"
#include "evaluator/experiments.h"
#include "evaluator/history_source.h"
#include "evaluator/policies/model_policy.h"
#include "evaluator/rollout.h"
#include "learner/checkpoint.h"

namespace ad::evaluator {

class Experiment;

// Whether `list` holds `name`.
bool Has(const std::vector<std::string>& list, const std::string& name);

// The tasks named by `which` for `family`: "test" or "train" (the spec's
// split), "all", or a comma-separated list of task ids; evenly thinned to
// spec.max_tasks. INVALID_ARGUMENT for an unknown id or an empty selection.
absl::StatusOr<std::vector<std::string>> ResolveTasks(
    const EvalSpec& spec, const envs::EnvFamily& family,
    const std::string& which);

// spec.demo_source, "SOURCE:EPISODES", into options.source and .episodes.
// INVALID_ARGUMENT naming demo_source and the allowed values.
absl::Status ParseDemoSource(const std::string& demo_source,
                             DemoDataOptions& options);

// One row per task x seed (seeds 0 .. seeds - 1), task-major.
std::vector<RowSpec> MakeRows(const std::vector<std::string>& tasks, int seeds);

// The mean of the tasks' optimal returns.
absl::StatusOr<double> MeanOptimal(const envs::EnvFamily& family,
                                   const std::vector<std::string>& tasks);

// The rollouts AddBaselines makes for spec.baselines (heuristic, random,
// optimal; ed when it has a checkpoint), for progress counts.
int CountBaselineStages(const EvalSpec& spec);

// One task selection of an experiment run: its family, tasks, their rows
// and the panel's optimal line.
struct TaskRows {
  const envs::EnvFamily* family = nullptr;  // the family selected on
  std::vector<std::string> tasks;
  std::vector<RowSpec> rows;  // one per task x seed, task-major
  double optimal = 0;         // the tasks' mean optimal return
};

// Shared state of one experiment run: the spec, hooks and progress count.
class Runner {
 public:
  Runner(const EvalSpec& spec, const ExperimentHooks& hooks)
      : spec_(spec), hooks_(hooks) {}

  // The number of rollouts the experiment will make (progress's total).
  void set_stages(int n) { stages_total_ = n; }

  // The run's report before its panels: the spec's experiment, env and
  // x axis.
  Report NewReport() const;

  // The tasks `which` names on `family` (see ResolveTasks), a row for each
  // of spec.seeds seeds, and their mean optimal return.
  absl::StatusOr<TaskRows> SelectTasks(const envs::EnvFamily& family,
                                       const std::string& which) const;

  // SelectTasks of spec.tasks on the family spec.env names.
  absl::StatusOr<TaskRows> SelectTasks() const;

  // The checkpoint at `path`, loaded once per experiment and shared by
  // the policies made from it (the weights are frozen).
  absl::StatusOr<const learner::Checkpoint*> LoadCheckpoint(
      const std::string& path);

  // A policy named `name` over the checkpoint at `path`, given at most
  // `max_past` past transitions (0: its window).
  absl::StatusOr<std::unique_ptr<ModelPolicy>> LoadModel(
      const std::string& path, const std::string& name, int max_past);

  // Everything that can be checked before the first rollout of
  // `experiment` (see ValidateExperiment in evaluator/experiments.h).
  // Loads the checkpoints it checks.
  absl::Status CheckInputs(const Experiment& experiment);

  // The context size for a run with `model` (nullptr: baselines only).
  int ContextLen(const ModelPolicy* model, const envs::SpaceSpec& space) const;

  // Rolls `policy` out and returns its curve (named `method`, or the
  // policy's name when empty); the rollout's stage counts towards progress.
  absl::StatusOr<Curve> Run(const envs::EnvFamily& family,
                            const std::vector<RowSpec>& rows,
                            InContextPolicy& policy, int context_len,
                            const std::string& stage,
                            const Prompt* prompt = nullptr,
                            const std::string& method = "");

  // Run's curve on `selected`'s rows appended to `panel`.
  absl::Status AddCurve(const TaskRows& selected, InContextPolicy& policy,
                        int context_len, const std::string& stage, Panel& panel,
                        const Prompt* prompt = nullptr,
                        const std::string& method = "");

  // When spec.baselines names the heuristic, AddCurve of the heuristic
  // policy (stage `stage`, prompted with `prompt`).
  absl::Status AddHeuristic(const TaskRows& selected, int context_len,
                            const std::string& stage, Panel& panel,
                            const Prompt* prompt = nullptr);

  // The history source named by the spec, or nullptr when none is.
  absl::StatusOr<std::unique_ptr<HistorySource>> OpenHistories() const;

  // The demo source run from scratch on `tasks` (spec.demo_source).
  absl::StatusOr<std::unique_ptr<HistorySource>> DemoHistories(
      const std::string& env, const std::vector<std::string>& tasks) const;

  // Baseline curves on `selected` (random, optimal, heuristic; ed and
  // source when asked and available) appended to `panel`; what was skipped
  // and why goes to `notes`.
  absl::Status AddBaselines(const TaskRows& selected, int context_len,
                            const std::string& prefix, Panel& panel,
                            std::vector<std::string>& notes);

 private:
  const EvalSpec& spec_;
  const ExperimentHooks& hooks_;
  int stages_done_ = 0;
  int stages_total_ = 1;
  std::map<std::string, learner::Checkpoint> checkpoints_;  // by path
};

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_EXPERIMENTS_RUNNER_H_
