// The plug-in point for the evaluator's experiments: what one experiment
// checks in an EvalSpec beyond the shared fields, which env families and
// checkpoints it touches (so the whole spec is checked before the first
// rollout), and its run from a spec to a Report.
//
// Each experiment is one file of this folder defining an Experiment and its
// factory (declared at the end of this header); registry.cc lists them in
// one table by name. EvalSpec::Validate, ValidateExperiment and
// RunExperiment (evaluator/experiments.h) find the experiment there.
// Experiments hold no state: Run keeps what it needs in the Runner.
#ifndef AD_EVALUATOR_EXPERIMENTS_EXPERIMENT_H_
#define AD_EVALUATOR_EXPERIMENTS_EXPERIMENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/env.h"
#include "evaluator/curves.h"
#include "evaluator/experiments.h"
#include "evaluator/experiments/runner.h"

namespace ad::evaluator {

// A checkpoint an experiment loads and the context lengths it is given.
struct ModelUse {
  std::string field;  // the EvalSpec field naming the checkpoint
  std::string path;
  std::vector<int> context_lens;  // past transitions asked for; 0: window
  const char* lens_field;         // the EvalSpec field giving them
};

class Experiment {
 public:
  virtual ~Experiment() = default;

  // The EvalSpec fields only this experiment reads, checked after the
  // shared ones: INVALID_ARGUMENT naming the field. Reads no file.
  virtual absl::Status ValidateFields(const EvalSpec& spec) const;

  // The env families it rolls out on, in order (default: spec.env).
  virtual std::vector<std::string> Families(const EvalSpec& spec) const;

  // Resolves every task selection it makes on `family` (default:
  // spec.tasks, an error naming the family).
  virtual absl::Status CheckTasks(const EvalSpec& spec,
                                  const envs::EnvFamily& family) const;

  // The checkpoints it loads (default: checkpoint given context_len, and
  // ed_checkpoint when the baselines name ed).
  virtual std::vector<ModelUse> Models(const EvalSpec& spec) const;

  // Whether it runs the "source" baseline when spec.baselines names it.
  virtual bool RunsSourceBaseline() const { return true; }

  // The experiment on a spec that ValidateExperiment accepted.
  virtual absl::StatusOr<Report> Run(const EvalSpec& spec,
                                     Runner& runner) const = 0;
};

// INVALID_ARGUMENT when spec.checkpoint is empty: the experiment needs an
// AD checkpoint.
absl::Status RequireCheckpoint(const EvalSpec& spec);

// The experiments, one file each; registered in registry.cc.
std::unique_ptr<Experiment> NewInContextExperiment();     // incontext.cc
std::unique_ptr<Experiment> NewPromptExperiment();        // prompt.cc
std::unique_ptr<Experiment> NewContextSweepExperiment();  // context_sweep.cc
std::unique_ptr<Experiment> NewBanditOodExperiment();     // bandit_ood.cc
std::unique_ptr<Experiment> NewTransferExperiment();      // transfer.cc

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_EXPERIMENTS_EXPERIMENT_H_
