#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "evaluator/experiments/experiment.h"

namespace ad::evaluator {
namespace {

// Fig. 7: in-context curves for several context sizes: several checkpoints
// trained with different windows (sweep_checkpoints), or one checkpoint
// given shorter contexts at evaluation (context_lens).
class ContextSweepExperiment : public Experiment {
 public:
  absl::Status ValidateFields(const EvalSpec& spec) const override {
    if (spec.sweep_checkpoints.empty()) {
      AD_RETURN_IF_ERROR(RequireCheckpoint(spec));
    }
    if (spec.sweep_checkpoints.empty() && spec.context_lens.empty()) {
      return absl::InvalidArgumentError(
          "context_sweep needs sweep_checkpoints (label=path,...) or "
          "context_lens (N,...)");
    }
    for (const std::string& entry : spec.sweep_checkpoints) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "sweep_checkpoints has '%s', want label=path", entry));
      }
    }
    for (int c : spec.context_lens) {
      if (c < 1) {
        return absl::InvalidArgumentError(
            absl::StrFormat("context_lens has %d, want >= 1", c));
      }
    }
    return absl::OkStatus();
  }

  // One checkpoint given each of context_lens, or every sweep checkpoint
  // given its own window; no ED.
  std::vector<ModelUse> Models(const EvalSpec& spec) const override {
    std::vector<ModelUse> uses;
    if (spec.sweep_checkpoints.empty()) {
      if (!spec.checkpoint.empty()) {
        uses.push_back(
            {"checkpoint", spec.checkpoint, spec.context_lens, "context_lens"});
      }
      return uses;
    }
    for (const std::string& entry : spec.sweep_checkpoints) {
      uses.push_back({"sweep_checkpoints",
                      entry.substr(entry.find('=') + 1),
                      {0},
                      "context_len"});
    }
    return uses;
  }

  bool RunsSourceBaseline() const override { return false; }

  absl::StatusOr<Report> Run(const EvalSpec& spec,
                             Runner& runner) const override {
    AD_ASSIGN_OR_RETURN(const TaskRows selected, runner.SelectTasks());
    const envs::EnvFamily* family = selected.family;
    Report report = runner.NewReport();
    Panel panel;
    panel.optimal = selected.optimal;
    const bool with_heuristic = Has(spec.baselines, "heuristic");
    if (!spec.sweep_checkpoints.empty()) {
      runner.set_stages(static_cast<int>(spec.sweep_checkpoints.size()) +
                        with_heuristic);
      report.title = absl::StrFormat(
          "Context size: AD variants trained with different windows, %s",
          spec.env);
      panel.title = "one checkpoint per training context size";
      for (const std::string& entry : spec.sweep_checkpoints) {
        const size_t eq = entry.find('=');
        const std::string label = entry.substr(0, eq);
        const std::string path = entry.substr(eq + 1);
        AD_ASSIGN_OR_RETURN(std::unique_ptr<ModelPolicy> ad,
                            runner.LoadModel(path, "ad " + label, 0));
        AD_RETURN_IF_ERROR(runner.AddCurve(selected, *ad, ad->max_past(),
                                           "ad " + label, panel, nullptr,
                                           absl::StrFormat("ad c=%s", label)));
      }
    } else {
      runner.set_stages(static_cast<int>(spec.context_lens.size()) +
                        with_heuristic);
      report.title = absl::StrFormat(
          "Context size: one AD checkpoint given %s past transitions, %s",
          absl::StrJoin(spec.context_lens, "/"), spec.env);
      panel.title = "context truncated at evaluation";
      report.notes.push_back(
          "context_sweep without --sweep_checkpoints truncates one model's "
          "context at evaluation; the paper's Fig. 7 trains one model per "
          "context size (pass them as --sweep_checkpoints c20=PATH,...)");
      report.notes.push_back(
          spec.window == "chunk"
              ? "ctx=L, chunk window: the model sees a chunk of consecutive "
                "past transitions that grows to L, then restarts from its "
                "last floor(L/2) (between L/2 and L once filled)"
              : "ctx=L, slide window: the model sees the last L past "
                "transitions at every step");
      for (int c : spec.context_lens) {
        AD_ASSIGN_OR_RETURN(std::unique_ptr<ModelPolicy> ad,
                            runner.LoadModel(spec.checkpoint, "ad", c));
        AD_RETURN_IF_ERROR(
            runner.AddCurve(selected, *ad, c, absl::StrFormat("ad ctx=%d", c),
                            panel, nullptr, absl::StrFormat("ad ctx=%d", c)));
      }
    }
    AD_RETURN_IF_ERROR(runner.AddHeuristic(
        selected, runner.ContextLen(nullptr, family->space()), "heuristic",
        panel));
    report.panels.push_back(std::move(panel));
    return report;
  }
};

}  // namespace

std::unique_ptr<Experiment> NewContextSweepExperiment() {
  return std::make_unique<ContextSweepExperiment>();
}

}  // namespace ad::evaluator
