#include "actors/discrete_obs.h"

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace ad::actors {

absl::StatusOr<StateIndexer> StateIndexer::Create(const envs::SpaceSpec& space,
                                                  int64_t max_states) {
  if (space.obs_high.empty() ||
      static_cast<int>(space.obs_high.size()) != space.obs_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "space ", space.family, ": obs_high must have obs_dim entries"));
  }
  StateIndexer s;
  for (int32_t h : space.obs_high) {
    if (h < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("space ", space.family, ": obs_high entry ", h, " < 1"));
    }
    s.num_states_ *= h;
    if (s.num_states_ > max_states) {
      return absl::InvalidArgumentError(
          absl::StrCat("space ", space.family, " has more than ", max_states,
                       " observation states; too many for a table"));
    }
    s.high_.push_back(h);
  }
  return s;
}

int64_t StateIndexer::Index(absl::Span<const int32_t> obs) const {
  CHECK_EQ(obs.size(), high_.size());
  int64_t index = 0;
  for (size_t i = 0; i < high_.size(); ++i) {
    CHECK(obs[i] >= 0 && obs[i] < high_[i]) << "obs component " << i;
    index = index * high_[i] + obs[i];
  }
  return index;
}

int ArgmaxRandomTie(absl::Span<const float> values, std::mt19937_64& rng) {
  CHECK(!values.empty());
  int best = 0;
  int ties = 1;
  for (int i = 1; i < static_cast<int>(values.size()); ++i) {
    if (values[i] > values[best]) {
      best = i;
      ties = 1;
    } else if (values[i] == values[best]) {
      // Reservoir choice among the ties seen so far.
      ++ties;
      if (std::uniform_int_distribution<int>(0, ties - 1)(rng) == 0) best = i;
    }
  }
  return best;
}

std::mt19937_64 StreamRng(uint64_t seed, uint64_t stream) {
  std::seed_seq seq{static_cast<uint32_t>(seed),
                    static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(stream),
                    static_cast<uint32_t>(stream >> 32), 0x5eedu};
  return std::mt19937_64(seq);
}

}  // namespace ad::actors
