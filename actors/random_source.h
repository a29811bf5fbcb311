// The random source: uniformly random actions, no learning. The lower
// reference of every curve (and of the bandit's regret comparison).
#ifndef AD_ACTORS_RANDOM_SOURCE_H_
#define AD_ACTORS_RANDOM_SOURCE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeRandomAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_RANDOM_SOURCE_H_
