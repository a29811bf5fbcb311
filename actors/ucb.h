// UCB1 (Auer et al. 2002): the bandit source of the paper's Fig. 3.
//
// Every stream is an independent bandit player (each pull is a one-step
// episode; a stream's history is its lifetime of pulls, 100 in the paper).
// It pulls each arm once, then the arm maximising
//   mean_reward(a) + exploration * sqrt(2 ln t / n(a)).
// Works on any family but only makes sense when the state does not matter.
//
// Preset key (prefix "ucb."): exploration (the c above, default 1).
#ifndef AD_ACTORS_UCB_H_
#define AD_ACTORS_UCB_H_

#include <memory>

#include "absl/status/statusor.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeUcbAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_UCB_H_
