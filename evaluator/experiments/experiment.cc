#include "evaluator/experiments/experiment.h"

#include "absl/strings/str_format.h"

namespace ad::evaluator {

absl::Status Experiment::ValidateFields(const EvalSpec& spec) const {
  return absl::OkStatus();
}

std::vector<std::string> Experiment::Families(const EvalSpec& spec) const {
  return {spec.env};
}

absl::Status Experiment::CheckTasks(const EvalSpec& spec,
                                    const envs::EnvFamily& family) const {
  absl::StatusOr<std::vector<std::string>> tasks =
      ResolveTasks(spec, family, spec.tasks);
  if (!tasks.ok()) {
    return absl::Status(tasks.status().code(),
                        absl::StrFormat("env %s: %s", family.space().family,
                                        tasks.status().message()));
  }
  return absl::OkStatus();
}

std::vector<ModelUse> Experiment::Models(const EvalSpec& spec) const {
  std::vector<ModelUse> uses;
  if (!spec.checkpoint.empty()) {
    uses.push_back(
        {"checkpoint", spec.checkpoint, {spec.context_len}, "context_len"});
  }
  if (!spec.ed_checkpoint.empty() && Has(spec.baselines, "ed")) {
    uses.push_back({"ed_checkpoint",
                    spec.ed_checkpoint,
                    {spec.context_len},
                    "context_len"});
  }
  return uses;
}

absl::Status RequireCheckpoint(const EvalSpec& spec) {
  if (!spec.checkpoint.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "checkpoint is empty, the %s experiment needs an AD checkpoint",
      spec.experiment));
}

}  // namespace ad::evaluator
