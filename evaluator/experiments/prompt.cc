#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "evaluator/experiments/experiment.h"
#include "evaluator/policies/baselines.h"
#include "learner/transition_range.h"

namespace ad::evaluator {
namespace {

// A stand-in for a source history at competence `level`: a noisy expert
// (epsilon = 1 - level) on every row, recorded for enough episodes to hold
// `prompt_len` transitions, of which the last prompt_len (ending at an
// episode boundary) are kept. `prompt_return` receives the mean return of
// the recorded last episode over rows.
absl::StatusOr<Prompt> NoisyExpertPrompt(const envs::EnvFamily& family,
                                         const std::vector<RowSpec>& rows,
                                         double level, int prompt_len,
                                         uint64_t seed, double* prompt_return) {
  Prompt prompt;
  NoisyExpertPolicy noisy(1.0 - level);
  const int episode_len = family.space().episode_len;
  RolloutOptions options;
  options.episodes = (prompt_len + episode_len - 1) / episode_len;
  options.context_len = 1;
  options.env_seed = seed ^ 0x9e3779b97f4a7c15ULL;
  const int n = static_cast<int>(rows.size());
  const int obs_dim = family.space().obs_dim;
  const int total = options.episodes * episode_len;
  Prompt recorded;
  recorded.length = total;
  recorded.obs.resize(static_cast<size_t>(n) * total * obs_dim);
  recorded.actions.resize(static_cast<size_t>(n) * total);
  recorded.rewards.resize(recorded.actions.size());
  recorded.dones.resize(recorded.actions.size());
  int t = 0;
  RolloutHooks hooks;
  hooks.on_transition =
      [&](absl::Span<const int32_t> obs, absl::Span<const int32_t> actions,
          absl::Span<const float> rewards, absl::Span<const uint8_t> dones) {
        if (t >= total) return;
        for (int r = 0; r < n; ++r) {
          const size_t at = static_cast<size_t>(r) * total + t;
          std::copy_n(obs.begin() + static_cast<size_t>(r) * obs_dim, obs_dim,
                      recorded.obs.begin() + at * obs_dim);
          recorded.actions[at] = actions[r];
          recorded.rewards[at] = rewards[r];
          recorded.dones[at] = dones[r];
        }
        ++t;
      };
  AD_ASSIGN_OR_RETURN(RolloutResult demo,
                      RunRollout(family, rows, noisy, options, nullptr, hooks));
  double sum = 0;
  for (int r = 0; r < n; ++r) sum += demo.Return(r, options.episodes - 1);
  *prompt_return = sum / n;
  prompt.length = prompt_len;
  for (int r = 0; r < n; ++r) {
    const int64_t from = static_cast<int64_t>(r) * total + total - prompt_len;
    learner::AppendTransitions(recorded, from, prompt_len, obs_dim, prompt);
  }
  return prompt;
}

// Fig. 5: AD and ED prompted with partial demonstrations (source histories
// cut at several competence levels, or a noisy expert of matching
// competence when no history is given), one panel per level.
class PromptExperiment : public Experiment {
 public:
  absl::Status ValidateFields(const EvalSpec& spec) const override {
    AD_RETURN_IF_ERROR(RequireCheckpoint(spec));
    if (spec.prompt_levels.empty()) {
      return absl::InvalidArgumentError("prompt_levels is empty");
    }
    for (double level : spec.prompt_levels) {
      if (!(level >= 0.0 && level <= 1.0)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "prompt_levels has %g, want fractions in [0, 1]", level));
      }
    }
    return absl::OkStatus();
  }

  // AD, and ED whenever it has a checkpoint (prompted like AD).
  std::vector<ModelUse> Models(const EvalSpec& spec) const override {
    std::vector<ModelUse> uses = {
        {"checkpoint", spec.checkpoint, {spec.context_len}, "context_len"}};
    if (!spec.ed_checkpoint.empty()) {
      uses.push_back({"ed_checkpoint",
                      spec.ed_checkpoint,
                      {spec.context_len},
                      "context_len"});
    }
    return uses;
  }

  bool RunsSourceBaseline() const override { return false; }

  absl::StatusOr<Report> Run(const EvalSpec& spec,
                             Runner& runner) const override {
    AD_ASSIGN_OR_RETURN(const TaskRows selected, runner.SelectTasks());
    const envs::EnvFamily* family = selected.family;
    const std::vector<RowSpec>& rows = selected.rows;
    AD_ASSIGN_OR_RETURN(
        std::unique_ptr<ModelPolicy> ad,
        runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
    std::unique_ptr<ModelPolicy> ed;
    if (!spec.ed_checkpoint.empty()) {
      AD_ASSIGN_OR_RETURN(
          ed, runner.LoadModel(spec.ed_checkpoint, "ed", spec.context_len));
    }
    const int context_len = runner.ContextLen(ad.get(), family->space());
    const int prompt_len = spec.prompt_len > 0 ? spec.prompt_len : context_len;
    const bool with_heuristic = Has(spec.baselines, "heuristic");
    runner.set_stages(static_cast<int>(spec.prompt_levels.size()) *
                      (1 + (ed != nullptr) + with_heuristic));
    AD_ASSIGN_OR_RETURN(std::unique_ptr<HistorySource> histories,
                        runner.OpenHistories());

    Report report = runner.NewReport();
    report.title = absl::StrFormat(
        "Prompted with partial demonstrations (%d transitions) on held-out %s",
        prompt_len, spec.env);
    report.notes.push_back(
        histories != nullptr
            ? absl::StrFormat("prompts: source histories from %s, cut at the "
                              "given fraction of each history's episodes",
                              histories->Describe())
            : std::string("prompts: no source histories given; synthesised "
                          "from a noisy expert with epsilon = 1 - level "
                          "(a stand-in for a source history at that "
                          "competence)"));
    for (double level : spec.prompt_levels) {
      Prompt prompt;
      double prompt_return = 0;
      if (histories != nullptr) {
        AD_ASSIGN_OR_RETURN(
            prompt, PromptFromHistories(*histories, spec.env, rows, spec.source,
                                        level, prompt_len, &prompt_return));
      } else {
        AD_ASSIGN_OR_RETURN(prompt,
                            NoisyExpertPrompt(*family, rows, level, prompt_len,
                                              spec.seed, &prompt_return));
      }
      Panel panel;
      panel.title = absl::StrFormat("prompt at %.0f%% (its last episode: %.1f)",
                                    100 * level, prompt_return);
      panel.optimal = selected.optimal;
      const std::string stage =
          absl::StrFormat("prompt %.0f%% / ", 100 * level);
      AD_RETURN_IF_ERROR(runner.AddCurve(selected, *ad, context_len,
                                         stage + "ad", panel, &prompt));
      if (ed != nullptr) {
        AD_RETURN_IF_ERROR(runner.AddCurve(
            selected, *ed, runner.ContextLen(ed.get(), family->space()),
            stage + "ed", panel, &prompt));
      }
      AD_RETURN_IF_ERROR(runner.AddHeuristic(
          selected, context_len, stage + "heuristic", panel, &prompt));
      report.panels.push_back(std::move(panel));
    }
    return report;
  }
};

}  // namespace

std::unique_ptr<Experiment> NewPromptExperiment() {
  return std::make_unique<PromptExperiment>();
}

}  // namespace ad::evaluator
