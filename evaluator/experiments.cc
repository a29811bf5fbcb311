#include "evaluator/experiments.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "evaluator/experiments/experiment.h"
#include "evaluator/experiments/registry.h"
#include "evaluator/experiments/runner.h"
#include "glog/logging.h"

namespace ad::evaluator {
namespace {

constexpr const char* kBaselines[] = {"random", "optimal", "heuristic", "ed",
                                      "source"};

// OK when lo <= value <= hi; else INVALID_ARGUMENT "FIELD is V, want
// LO..HI".
absl::Status CheckInRange(const char* field, int value, int lo, int hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s is %d, want %d..%d", field, value, lo, hi));
}

}  // namespace

absl::Status EvalSpec::Validate() const {
  if (FindExperiment(experiment) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("experiment is '%s', want one of %s", experiment,
                        absl::StrJoin(ExperimentNames(), ", ")));
  }
  if (absl::StatusOr<const envs::EnvFamily*> f = envs::FindFamily(env);
      !f.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("env: ", f.status().message()));
  }
  if (tasks.empty()) {
    return absl::InvalidArgumentError(
        "tasks is empty, want test, train, all or a list of task ids");
  }
  if (!(train_fraction > 0.0 && train_fraction < 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train_fraction is %g, want a fraction in (0, 1)", train_fraction));
  }
  if (max_tasks < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max_tasks is %d, want >= 0 (0: all)", max_tasks));
  }
  AD_RETURN_IF_ERROR(CheckInRange("seeds", seeds, 1, 10000));
  AD_RETURN_IF_ERROR(CheckInRange("episodes", episodes, 1, 100000));
  if (context_len < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "context_len is %d, want >= 0 (0: the model's window)", context_len));
  }
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "temperature is %g, want >= 0 (0: greedy)", temperature));
  }
  for (const std::string& b : baselines) {
    if (std::find(std::begin(kBaselines), std::end(kBaselines), b) ==
        std::end(kBaselines)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("baselines has '%s', want any of %s", b,
                          absl::StrJoin(kBaselines, ", ")));
    }
  }
  if (window != "slide" && window != "chunk") {
    return absl::InvalidArgumentError(
        absl::StrFormat("window is '%s', want slide or chunk", window));
  }
  if (!demo_source.empty()) {
    DemoDataOptions parsed;
    AD_RETURN_IF_ERROR(ParseDemoSource(demo_source, parsed));
  }
  AD_RETURN_IF_ERROR(CheckInRange("demo_streams", demo_streams, 1, 1000));
  if (!store.empty() && !histories_dir.empty()) {
    return absl::InvalidArgumentError(
        "store and histories_dir are both set, want at most one");
  }
  if (out_dir.empty()) {
    return absl::InvalidArgumentError("out_dir is empty, want a directory");
  }
  if (x_axis != "episodes" && x_axis != "env_steps") {
    return absl::InvalidArgumentError(
        absl::StrFormat("x_axis is '%s', want episodes or env_steps", x_axis));
  }
  AD_RETURN_IF_ERROR(CheckInRange("threads", threads, 1, 256));
  if (prompt_len < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "prompt_len is %d, want >= 0 (0: the context size)", prompt_len));
  }
  AD_RETURN_IF_ERROR(FindExperiment(experiment)->ValidateFields(*this));
  return plot_options.Validate();
}

absl::Status ValidateExperiment(const EvalSpec& spec) {
  AD_RETURN_IF_ERROR(spec.Validate());
  const ExperimentHooks no_hooks;
  Runner runner(spec, no_hooks);
  return runner.CheckInputs(*FindExperiment(spec.experiment));
}

absl::StatusOr<Report> RunExperiment(const EvalSpec& spec,
                                     const ExperimentHooks& hooks) {
  AD_RETURN_IF_ERROR(spec.Validate());
  if (!spec.store.empty() && !hooks.open_store) {
    return absl::FailedPreconditionError(
        absl::StrCat("store ", spec.store,
                     " given, but this program cannot open a store (no "
                     "ExperimentHooks::open_store); use histories_dir"));
  }
  Runner runner(spec, hooks);
  // The whole spec is checked before the first rollout: a mistake costs
  // seconds, not a finished panel.
  const Experiment& experiment = *FindExperiment(spec.experiment);
  AD_RETURN_IF_ERROR(runner.CheckInputs(experiment));
  return experiment.Run(spec, runner);
}

absl::Status WriteExperimentOutputs(const EvalSpec& spec,
                                    const Report& report) {
  AD_RETURN_IF_ERROR(WriteReport(report, spec.out_dir));
  if (!spec.plot) return absl::OkStatus();
  const std::string png =
      (std::filesystem::path(spec.out_dir) / (report.experiment + ".png"))
          .string();
  absl::Status plotted = PlotReport(
      spec.plot_options,
      (std::filesystem::path(spec.out_dir) / "report.json").string(), png);
  if (!plotted.ok()) LOG(WARNING) << "no plot: " << plotted;
  return plotted;
}

}  // namespace ad::evaluator
