// Helpers shared by the sources for the small integer observations of the
// Dark environments and the bandit: a flat state index for tables, a one-hot
// feature encoding for networks, and argmax with random tie-breaking.
#ifndef AD_ACTORS_DISCRETE_OBS_H_
#define AD_ACTORS_DISCRETE_OBS_H_

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envs/env.h"

namespace ad::actors {

// Maps an observation (obs_dim integers, component i in [0, obs_high[i]))
// to a single index in [0, num_states).
class StateIndexer {
 public:
  // INVALID_ARGUMENT if the space has no obs_high or more than `max_states`
  // states (a table would not fit).
  static absl::StatusOr<StateIndexer> Create(const envs::SpaceSpec& space,
                                             int64_t max_states);
  int64_t num_states() const { return num_states_; }
  // Dies if a component is out of range (the env guarantees the range).
  int64_t Index(absl::Span<const int32_t> obs) const;

 private:
  std::vector<int32_t> high_;
  int64_t num_states_ = 1;
};

// Index of the largest value; ties broken uniformly at random.
int ArgmaxRandomTie(absl::Span<const float> values, std::mt19937_64& rng);

// Seeds a generator from a seed and a stream index (distinct streams get
// unrelated sequences).
std::mt19937_64 StreamRng(uint64_t seed, uint64_t stream);

}  // namespace ad::actors

#endif  // AD_ACTORS_DISCRETE_OBS_H_
