#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "evaluator/experiments/experiment.h"

namespace ad::evaluator {
namespace {

// Fig. 4: AD on held-out tasks with an empty context that fills with its own
// transitions, beside ED, the source algorithm's own curve, random, optimal
// and the critique's heuristic, on the same tasks and seeds.
class InContextExperiment : public Experiment {
 public:
  absl::StatusOr<Report> Run(const EvalSpec& spec,
                             Runner& runner) const override {
    runner.set_stages(CountBaselineStages(spec) + !spec.checkpoint.empty());
    AD_ASSIGN_OR_RETURN(const TaskRows selected, runner.SelectTasks());
    const envs::EnvFamily* family = selected.family;
    Report report = runner.NewReport();
    report.title = absl::StrFormat(
        "In-context RL on %d %s %s tasks x %d seeds (weights frozen)",
        selected.tasks.size(),
        spec.tasks.find(',') == std::string::npos ? spec.tasks : "listed",
        spec.env, spec.seeds);
    Panel panel;
    panel.title = absl::StrFormat(
        "%s, %s tasks", spec.env,
        spec.tasks.find(',') == std::string::npos ? spec.tasks : "listed");
    panel.optimal = selected.optimal;
    int context_len = runner.ContextLen(nullptr, family->space());
    if (!spec.checkpoint.empty()) {
      AD_ASSIGN_OR_RETURN(
          std::unique_ptr<ModelPolicy> ad,
          runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
      context_len = runner.ContextLen(ad.get(), family->space());
      AD_RETURN_IF_ERROR(
          runner.AddCurve(selected, *ad, context_len, "ad", panel));
      report.notes.push_back(absl::StrFormat(
          "ad: %s (step %d), context %d past transitions (%s window), %s",
          spec.checkpoint, ad->step(), context_len, spec.window,
          spec.temperature == 0
              ? "greedy"
              : absl::StrFormat("temperature %g", spec.temperature)));
    }
    AD_RETURN_IF_ERROR(
        runner.AddBaselines(selected, context_len, "", panel, report.notes));
    report.panels.push_back(std::move(panel));
    return report;
  }
};

}  // namespace

std::unique_ptr<Experiment> NewInContextExperiment() {
  return std::make_unique<InContextExperiment>();
}

}  // namespace ad::evaluator
