#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "evaluator/experiments/experiment.h"

namespace ad::evaluator {
namespace {

// The critique's test: a checkpoint trained on one family (train_env)
// evaluated on another (env), with the trained family's held-out curve
// beside it.
class TransferExperiment : public Experiment {
 public:
  absl::Status ValidateFields(const EvalSpec& spec) const override {
    AD_RETURN_IF_ERROR(RequireCheckpoint(spec));
    if (spec.train_env.empty() || spec.train_env == spec.env) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "train_env is '%s', the transfer experiment wants the checkpoint's "
          "family, different from env '%s'",
          spec.train_env, spec.env));
    }
    if (absl::StatusOr<const envs::EnvFamily*> f =
            envs::FindFamily(spec.train_env);
        !f.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("train_env: ", f.status().message()));
    }
    return absl::OkStatus();
  }

  // The trained family first, then the evaluated one.
  std::vector<std::string> Families(const EvalSpec& spec) const override {
    return {spec.train_env, spec.env};
  }

  absl::StatusOr<Report> Run(const EvalSpec& spec,
                             Runner& runner) const override {
    AD_ASSIGN_OR_RETURN(const envs::EnvFamily* train_family,
                        envs::FindFamily(spec.train_env));
    AD_ASSIGN_OR_RETURN(const envs::EnvFamily* eval_family,
                        envs::FindFamily(spec.env));
    AD_ASSIGN_OR_RETURN(
        std::unique_ptr<ModelPolicy> ad,
        runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
    runner.set_stages(2 * (1 + CountBaselineStages(spec)));
    Report report = runner.NewReport();
    report.title = absl::StrFormat(
        "Transfer: AD trained on %s, evaluated on %s (held-out) and on %s",
        spec.train_env, spec.train_env, spec.env);
    for (const envs::EnvFamily* family : {train_family, eval_family}) {
      AD_ASSIGN_OR_RETURN(const TaskRows selected,
                          runner.SelectTasks(*family, spec.tasks));
      const std::string name = family->space().family;
      Panel panel;
      panel.title = absl::StrFormat(
          "%s %s tasks%s", name, spec.tasks,
          family == train_family ? " (trained family)" : " (never trained on)");
      panel.optimal = selected.optimal;
      const int context_len = runner.ContextLen(ad.get(), family->space());
      absl::StatusOr<Curve> curve =
          runner.Run(*family, selected.rows, *ad, context_len, name + " / ad");
      if (!curve.ok()) {
        return absl::Status(
            curve.status().code(),
            absl::StrCat("transfer to ", name, ": ", curve.status().message()));
      }
      panel.curves.push_back(*std::move(curve));
      AD_RETURN_IF_ERROR(runner.AddBaselines(
          selected, context_len, name + " / ", panel, report.notes));
      report.panels.push_back(std::move(panel));
    }
    return report;
  }
};

}  // namespace

std::unique_ptr<Experiment> NewTransferExperiment() {
  return std::make_unique<TransferExperiment>();
}

}  // namespace ad::evaluator
