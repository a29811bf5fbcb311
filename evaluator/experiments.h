// The evaluator's experiments, each one call from a validated EvalSpec to a
// Report (curves per method, per panel) and its files (CSV, JSON, PNG):
//
//   incontext      Fig. 4: AD on held-out tasks with an empty context that
//                  fills with its own transitions, beside ED, the source
//                  algorithm's own curve, random, optimal and the critique's
//                  heuristic, on the same tasks and seeds.
//   prompt         Fig. 5: AD and ED prompted with partial demonstrations
//                  (source histories cut at several competence levels, or a
//                  noisy expert of matching competence when no history is
//                  given), one panel per level.
//   context_sweep  Fig. 7: in-context curves for several context sizes:
//                  several checkpoints trained with different windows
//                  (sweep_checkpoints), or one checkpoint given shorter
//                  contexts at evaluation (context_lens: each entry is the
//                  context length L of EvalSpec::window, the rollout's
//                  buffer holds L transitions).
//   bandit_ood     Fig. 3: the bandit's train regime (in distribution) and
//                  test regime (out of distribution), one panel each.
//   transfer       The critique's test: a checkpoint trained on one family
//                  (train_env) evaluated on another (env), with the trained
//                  family's held-out curve beside it.
//
// Each experiment is one file of evaluator/experiments/ (experiment.h is the
// interface, runner.h the machinery they share), registered by name in
// evaluator/experiments/registry.cc.
//
// Called by `adctl eval` (services/evaluator/eval_cli.h) and the
// ad-evaluator service.
// Blocks for the whole experiment on the calling thread (LibTorch uses
// `threads` intra-op threads); progress and cancellation go through hooks.
#ifndef AD_EVALUATOR_EXPERIMENTS_H_
#define AD_EVALUATOR_EXPERIMENTS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/env.h"
#include "evaluator/curves.h"
#include "evaluator/history_source.h"
#include "evaluator/plot.h"

namespace ad::evaluator {

struct EvalSpec {
  // incontext | prompt | context_sweep | bandit_ood | transfer
  std::string experiment = "incontext";
  std::string checkpoint;     // AD checkpoint; empty: baselines only
  std::string ed_checkpoint;  // ED checkpoint (same model, expert data)
  // context_sweep: "label=path" checkpoints trained with different windows.
  std::vector<std::string> sweep_checkpoints;
  // context_sweep with one checkpoint: past transitions given at evaluation.
  std::vector<int> context_lens;

  std::string env = "darkroom";  // family evaluated on
  std::string train_env;         // transfer: the checkpoint's family
  // "test" (held-out split), "train", "all", or comma-separated task ids.
  std::string tasks = "test";
  // The split the data was generated with (the project-wide default).
  double train_fraction = envs::kDefaultTrainFraction;
  uint64_t split_seed = envs::kDefaultSplitSeed;
  int max_tasks = 0;  // evenly spaced subset of the tasks; 0: all
  int seeds = 20;     // evaluation seeds per task, >= 1
  int episodes = 40;  // per row, >= 1
  // The context length L: past transitions in context; 0: the model's
  // window (context_len - 1), or 4 episodes for baseline-only runs.
  int context_len = 0;
  double temperature = 0.0;  // 0: greedy
  // How the model is held to L (context_len, or each of context_lens):
  // "slide": the last min(held, L) transitions at every step (full
  // recompute); "chunk": cached keys/values over a chunk of consecutive
  // transitions that grows by one per step and, once it holds L, restarts
  // from its last floor(L / 2). See evaluator/policies/model_policy.h.
  std::string window = "slide";
  // Any of random, optimal, heuristic, ed, source.
  std::vector<std::string> baselines = {"random", "optimal", "heuristic"};

  // Source histories (for "source" and prompts): a store address or a
  // FileSink directory; `source` filters HistoryMeta.source.
  std::string store;
  std::string histories_dir;
  std::string source;
  // Without a store or directory: run a demo source from scratch on the
  // evaluated tasks, "noisy_expert:EPISODES" or "q_learning:EPISODES"
  // (evaluator/demo_checkpoints.h), demo_streams histories per task.
  std::string demo_source;
  int demo_streams = 4;

  std::vector<double> prompt_levels = {0.0, 0.25, 0.5, 0.75, 1.0};
  int prompt_len = 0;  // transitions; 0: the context size

  std::string out_dir;              // required: where CSV, JSON and PNG go
  std::string x_axis = "episodes";  // or "env_steps"
  uint64_t seed = 1;                // environment seed of the rollouts
  int threads = 2;                  // LibTorch intra-op threads
  bool plot = true;
  PlotOptions plot_options;

  // The fields on their own: INVALID_ARGUMENT naming the field and the
  // allowed values. Reads no file (ValidateExperiment does).
  absl::Status Validate() const;
};

// Everything RunExperiment checks before its first rollout: Validate(), then
// what needs the files and the env registry. Each checkpoint the experiment
// uses (checkpoint, ed_checkpoint, sweep_checkpoints) loads and fits every
// env family the experiment touches (env; train_env too for transfer; bandit
// for bandit_ood): obs_dim, obs_high, num_actions; context_len and every
// context_lens entry fit its window; the tasks resolve on every family;
// demo_source suits the families; histories_dir is a directory; out_dir can
// be created. INVALID_ARGUMENT naming the field and both values; a
// checkpoint that does not load is an error naming the field and path.
// Writes nothing.
absl::Status ValidateExperiment(const EvalSpec& spec);

// Opens the trajectory store at "host:port" as a HistorySource. The
// evaluator library has no gRPC: programs that can reach a store pass
// services/store/store_history_source.h's StoreHistoryOpener().
using StoreOpener =
    std::function<absl::StatusOr<std::unique_ptr<HistorySource>>(
        const std::string& address)>;

struct ExperimentHooks {
  // Progress: `stage` ("ad", "prompt 50% / ed", ...), episodes done of the
  // stage's total, and the experiment's stages done / total.
  std::function<void(const std::string& stage, int episodes_done,
                     int episodes_total, int stages_done, int stages_total)>
      on_progress;
  // Polled every step; true aborts with CANCELLED.
  std::function<bool()> cancelled;
  // How EvalSpec.store is opened; without it a spec naming a store fails
  // with FAILED_PRECONDITION before any rollout.
  StoreOpener open_store;
};

// Runs the experiment of `spec` and returns its report (nothing written).
// The whole spec is checked first, as ValidateExperiment does: a bad spec
// fails before any rollout.
absl::StatusOr<Report> RunExperiment(const EvalSpec& spec,
                                     const ExperimentHooks& hooks = {});

// Writes the report's CSV/JSON into spec.out_dir and, when spec.plot, the
// PNG (out_dir/<experiment>.png). A missing python/matplotlib is logged as a
// warning and returned as FAILED_PRECONDITION after the CSV/JSON are saved.
absl::Status WriteExperimentOutputs(const EvalSpec& spec, const Report& report);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_EXPERIMENTS_H_
