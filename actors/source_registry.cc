#include "actors/source_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "actors/a3c.h"
#include "actors/dqn.h"
#include "actors/noisy_expert.h"
#include "actors/random_source.h"
#include "actors/rmax.h"
#include "actors/tabular_q.h"
#include "actors/ucb.h"
#include "common/status_macros.h"

namespace ad::actors {
namespace {

const std::vector<SourceInfo>& Registry() {
  static const auto* registry = new std::vector<SourceInfo>{
      {"a3c", "batched advantage actor-critic, streams share one learner",
       &MakeA3cAgent},
      {"dqn", "DQN with Peng's Q(lambda) over replayed sequences",
       &MakeDqnAgent},
      {"ucb", "UCB1 per stream (bandit)", &MakeUcbAgent},
      {"tabular_q", "epsilon-greedy tabular Q-learning per stream",
       &MakeTabularQAgent},
      {"rmax", "model-based optimistic planning (R-max-style) per stream",
       &MakeRmaxAgent},
      {"noisy_expert", "expert with epsilon decaying 1 -> 0 over the history",
       &MakeNoisyExpertAgent},
      {"expert", "the environment's expert (epsilon = 0)", &MakeExpertAgent},
      {"random", "uniformly random actions", &MakeRandomAgent},
  };
  return *registry;
}

}  // namespace

absl::StatusOr<const SourceInfo*> FindSource(absl::string_view name) {
  for (const SourceInfo& info : Registry()) {
    if (info.name == name) return &info;
  }
  return absl::NotFoundError(
      absl::StrCat("no source algorithm '", name,
                   "'; known: ", absl::StrJoin(SourceNames(), ", ")));
}

std::vector<std::string> SourceNames() {
  std::vector<std::string> names;
  for (const SourceInfo& info : Registry()) names.push_back(info.name);
  return names;
}

absl::Status SourceBudget::Validate() const {
  if (streams < 1 || streams > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("streams is ", streams, "; must be in [1, 100000]"));
  }
  if (episodes < 1 || episodes > 10000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("episodes is ", episodes, "; must be in [1, 1e7]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SourceBudget> BudgetFor(absl::string_view source,
                                       const SourceParams& params) {
  SourceBudget budget;
  AD_ASSIGN_OR_RETURN(int64_t streams, params.Int(source, "streams", 1));
  AD_ASSIGN_OR_RETURN(int64_t episodes, params.Int(source, "episodes", 1));
  budget.streams = static_cast<int>(std::min<int64_t>(streams, 1 << 30));
  budget.episodes = static_cast<int>(std::min<int64_t>(episodes, 1 << 30));
  AD_RETURN_IF_ERROR(budget.Validate());
  return budget;
}

}  // namespace ad::actors
