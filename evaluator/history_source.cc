#include "evaluator/history_source.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace ad::evaluator {
namespace {

absl::Status CheckBatch(const ad::v1::TransitionBatch& t) {
  const int n = t.actions_size();
  if (t.obs_dim() == 0 || t.obs_size() != n * static_cast<int>(t.obs_dim())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "transitions.obs has %d values for %d transitions of obs_dim %d",
        t.obs_size(), n, t.obs_dim()));
  }
  if (t.rewards_size() != n || static_cast<int>(t.dones().size()) != n) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "transitions.rewards/dones have %d/%d entries for %d actions",
        t.rewards_size(), t.dones().size(), n));
  }
  return absl::OkStatus();
}

// Ends (one past the last transition) of the complete episodes of `t`.
std::vector<int> EpisodeEnds(const ad::v1::TransitionBatch& t) {
  std::vector<int> ends;
  for (int i = 0; i < static_cast<int>(t.dones().size()); ++i) {
    if (t.dones()[i] != 0) ends.push_back(i + 1);
  }
  return ends;
}

}  // namespace

absl::Status InMemoryHistorySource::Add(ad::v1::HistoryMeta meta,
                                        ad::v1::TransitionBatch transitions) {
  AD_RETURN_IF_ERROR(CheckBatch(transitions));
  if (meta.history_id().empty()) {
    return absl::InvalidArgumentError("meta.history_id is empty");
  }
  if (meta.episode_returns_size() == 0) {
    double running = 0;
    for (int i = 0; i < transitions.actions_size(); ++i) {
      running += transitions.rewards(i);
      if (transitions.dones()[i] != 0) {
        meta.add_episode_returns(static_cast<float>(running));
        running = 0;
      }
    }
  }
  meta.set_length(transitions.actions_size());
  meta.set_episodes(meta.episode_returns_size());
  metas_.push_back(std::move(meta));
  transitions_.push_back(std::move(transitions));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ad::v1::HistoryMeta>>
InMemoryHistorySource::Histories(const std::string& env,
                                 const std::string& task_id) {
  std::vector<ad::v1::HistoryMeta> out;
  for (const auto& meta : metas_) {
    if (meta.env() == env && meta.task_id() == task_id) out.push_back(meta);
  }
  return out;
}

absl::StatusOr<ad::v1::TransitionBatch> InMemoryHistorySource::Transitions(
    const std::string& history_id, uint64_t begin, uint64_t end) {
  for (size_t h = 0; h < metas_.size(); ++h) {
    if (metas_[h].history_id() != history_id) continue;
    const ad::v1::TransitionBatch& all = transitions_[h];
    const uint64_t n = all.actions_size();
    if (end == 0 || end > n) end = n;
    if (begin > end) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "begin %d is past end %d of history %s", begin, end, history_id));
    }
    ad::v1::TransitionBatch out;
    out.set_obs_dim(all.obs_dim());
    for (uint64_t i = begin; i < end; ++i) {
      for (uint32_t d = 0; d < all.obs_dim(); ++d) {
        out.add_obs(all.obs(i * all.obs_dim() + d));
      }
      out.add_actions(all.actions(i));
      out.add_rewards(all.rewards(i));
    }
    out.set_dones(all.dones().substr(begin, end - begin));
    return out;
  }
  return absl::NotFoundError(
      absl::StrFormat("no history '%s' in memory", history_id));
}

absl::Status SourceCurveOptions::Validate() const {
  if (max_episodes < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_episodes is %d, want >= 0 (0: all)", max_episodes));
  }
  return absl::OkStatus();
}

absl::StatusOr<Curve> SourceCurve(HistorySource& histories,
                                  const std::string& env,
                                  absl::Span<const std::string> tasks,
                                  const SourceCurveOptions& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  Curve curve;
  curve.method = options.source.empty()
                     ? "source"
                     : absl::StrCat("source (", options.source, ")");
  curve.steps_per_episode = options.steps_per_episode;
  for (const std::string& task : tasks) {
    AD_ASSIGN_OR_RETURN(std::vector<ad::v1::HistoryMeta> metas,
                        histories.Histories(env, task));
    for (const auto& meta : metas) {
      if (!options.source.empty() && meta.source() != options.source) continue;
      if (meta.episode_returns_size() == 0) continue;
      std::vector<float> returns(meta.episode_returns().begin(),
                                 meta.episode_returns().end());
      if (options.max_episodes > 0 &&
          static_cast<int>(returns.size()) > options.max_episodes) {
        returns.resize(options.max_episodes);
      }
      curve.row_labels.push_back(meta.history_id());
      curve.returns.push_back(std::move(returns));
    }
  }
  if (curve.returns.empty()) {
    return absl::NotFoundError(absl::StrFormat(
        "%s has no %shistory with episodes on the %d evaluated %s tasks",
        histories.Describe(),
        options.source.empty() ? "" : "'" + options.source + "' ", tasks.size(),
        env));
  }
  return curve;
}

absl::StatusOr<Prompt> PromptFromHistories(HistorySource& histories,
                                           const std::string& env,
                                           absl::Span<const RowSpec> rows,
                                           const std::string& source,
                                           double competence, int length,
                                           double* mean_return) {
  if (!(competence >= 0.0 && competence <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "competence is %g, want a fraction in [0, 1]", competence));
  }
  if (length < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("prompt length is %d, want >= 1", length));
  }
  Prompt prompt;
  prompt.length = length;
  std::map<std::string, std::vector<ad::v1::HistoryMeta>> by_task;
  double return_sum = 0;
  for (const RowSpec& row : rows) {
    auto it = by_task.find(row.task_id);
    if (it == by_task.end()) {
      AD_ASSIGN_OR_RETURN(std::vector<ad::v1::HistoryMeta> metas,
                          histories.Histories(env, row.task_id));
      std::vector<ad::v1::HistoryMeta> kept;
      for (auto& m : metas) {
        if ((source.empty() || m.source() == source) &&
            m.episode_returns_size() > 0) {
          kept.push_back(std::move(m));
        }
      }
      it = by_task.emplace(row.task_id, std::move(kept)).first;
    }
    if (it->second.empty()) {
      return absl::NotFoundError(
          absl::StrFormat("%s has no history of task %s to prompt with",
                          histories.Describe(), row.task_id));
    }
    const ad::v1::HistoryMeta& meta = it->second[row.seed % it->second.size()];
    AD_ASSIGN_OR_RETURN(ad::v1::TransitionBatch all,
                        histories.Transitions(meta.history_id(), 0, 0));
    AD_RETURN_IF_ERROR(CheckBatch(all));
    const std::vector<int> ends = EpisodeEnds(all);
    if (ends.empty() || ends.back() < length) {
      return absl::NotFoundError(absl::StrFormat(
          "history %s has %d complete-episode transitions, fewer than the "
          "prompt length %d",
          meta.history_id(), ends.empty() ? 0 : ends.back(), length));
    }
    // The episode at `competence` of the history, but late enough to fill
    // the prompt.
    int e = static_cast<int>(std::lround(competence * (ends.size() - 1)));
    while (ends[e] < length) ++e;
    const int end = ends[e];
    const int begin = end - length;
    const int obs_dim = all.obs_dim();
    for (int i = begin; i < end; ++i) {
      for (int d = 0; d < obs_dim; ++d) {
        prompt.obs.push_back(all.obs(i * obs_dim + d));
      }
      prompt.actions.push_back(all.actions(i));
      prompt.rewards.push_back(all.rewards(i));
      prompt.dones.push_back(all.dones()[i] != 0 ? 1 : 0);
    }
    double last = 0;
    for (int i = e == 0 ? 0 : ends[e - 1]; i < end; ++i) last += all.rewards(i);
    return_sum += last;
  }
  if (mean_return != nullptr) *mean_return = return_sum / rows.size();
  return prompt;
}

}  // namespace ad::evaluator
