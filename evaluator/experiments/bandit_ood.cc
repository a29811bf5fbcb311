#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "evaluator/experiments/experiment.h"

namespace ad::evaluator {
namespace {

// Fig. 3: the bandit's train regime (in distribution) and test regime (out
// of distribution), one panel each, with the paper's normalised scores.
class BanditOodExperiment : public Experiment {
 public:
  absl::Status ValidateFields(const EvalSpec& spec) const override {
    if (spec.env != "bandit") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "env is '%s', the bandit_ood experiment runs on bandit", spec.env));
    }
    return absl::OkStatus();
  }

  std::vector<std::string> Families(const EvalSpec& spec) const override {
    return {"bandit"};
  }

  // Both regimes: the train split (in distribution) and the test split.
  absl::Status CheckTasks(const EvalSpec& spec,
                          const envs::EnvFamily& family) const override {
    for (const std::string which : {"train", "test"}) {
      AD_RETURN_IF_ERROR(ResolveTasks(spec, family, which).status());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Report> Run(const EvalSpec& spec,
                             Runner& runner) const override {
    AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                        envs::FindFamily("bandit"));
    std::unique_ptr<ModelPolicy> ad;
    if (!spec.checkpoint.empty()) {
      AD_ASSIGN_OR_RETURN(
          ad, runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
    }
    const int context_len = runner.ContextLen(ad.get(), family->space());
    runner.set_stages(2 * (CountBaselineStages(spec) + (ad != nullptr)));
    Report report = runner.NewReport();
    report.env = "bandit";
    report.x_axis = "episodes";
    report.title =
        "Adversarial bandit: train regime (odd arms) vs out-of-distribution "
        "test regime (even arms); x = pull";
    for (const std::string which : {"train", "test"}) {
      AD_ASSIGN_OR_RETURN(const TaskRows selected,
                          runner.SelectTasks(*family, which));
      const std::vector<std::string>& tasks = selected.tasks;
      Panel panel;
      panel.title = which == "train" ? absl::StrFormat(
                                           "in distribution (odd regime, %d "
                                           "tasks)",
                                           tasks.size())
                                     : absl::StrFormat(
                                           "out of distribution (even regime, "
                                           "%d tasks)",
                                           tasks.size());
      panel.optimal = selected.optimal;
      const std::string prefix = which + " / ";
      if (ad != nullptr) {
        AD_RETURN_IF_ERROR(
            runner.AddCurve(selected, *ad, context_len, prefix + "ad", panel));
      }
      AD_RETURN_IF_ERROR(runner.AddBaselines(selected, context_len, prefix,
                                             panel, report.notes));
      // The paper's normalised score (r - r_random) / (r_ref - r_random), with
      // the optimal arm as reference, and, when the source baseline ran (UCB
      // histories of these tasks), also the paper's own reference, the source.
      const Curve* random = nullptr;
      const Curve* source = nullptr;
      for (const Curve& c : panel.curves) {
        if (c.method == "random") random = &c;
        if (absl::StartsWith(c.method, "source")) source = &c;
      }
      if (random != nullptr) {
        const double r_random = random->WindowMean(1, random->Episodes());
        const int pulls = random->Episodes();
        for (const Curve& c : panel.curves) {
          if (c.method == "random" || c.method == "optimal") continue;
          // Over the pulls every method was evaluated for (a source history
          // may be longer than the evaluation).
          const double r = c.WindowMean(1, std::min(pulls, c.Episodes()));
          std::string note = absl::StrFormat(
              "%s %s: mean reward per pull %.3f, normalised (r - random) / "
              "(optimal - random) = %.2f",
              which, c.method, r,
              (r - r_random) / std::max(1e-9, panel.optimal - r_random));
          if (source != nullptr && &c != source) {
            const double r_source =
                source->WindowMean(1, std::min(pulls, source->Episodes()));
            absl::StrAppendFormat(
                &note, ", (r - random) / (%s - random) = %.2f", source->method,
                (r - r_random) / std::max(1e-9, r_source - r_random));
          }
          report.notes.push_back(std::move(note));
        }
      }
      report.panels.push_back(std::move(panel));
    }
    return report;
  }
};

}  // namespace

std::unique_ptr<Experiment> NewBanditOodExperiment() {
  return std::make_unique<BanditOodExperiment>();
}

}  // namespace ad::evaluator
