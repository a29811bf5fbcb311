// Packed transitions as the store keeps them: parallel arrays, one entry per
// transition (obs has obs_dim entries per transition). `TransitionsView`
// borrows the arrays (an append request's payload, a decoded chunk);
// `Transitions` owns them (a range read, a sampled window batch).
//
// Transition t is (obs[t*obs_dim .. (t+1)*obs_dim), actions[t], rewards[t],
// dones[t]), as in ad.v1.TransitionBatch: dones[t] == 1 when that step ended
// its episode. Plain data, no locking.
#ifndef AD_STORAGE_TRANSITIONS_H_
#define AD_STORAGE_TRANSITIONS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace ad::storage {

struct TransitionsView {
  uint32_t obs_dim = 0;               // int32 values per observation
  absl::Span<const int32_t> obs;      // size() * obs_dim values
  absl::Span<const int32_t> actions;  // one per transition
  absl::Span<const float> rewards;    // one per transition
  absl::Span<const uint8_t> dones;    // one per transition, 0 or 1

  size_t size() const { return actions.size(); }

  // INVALID_ARGUMENT naming the field when the arrays disagree with
  // actions.size() and obs_dim, when obs_dim is 0, when a done byte is
  // neither 0 nor 1, or when a reward is NaN or infinite. When
  // num_actions > 0, also checks every action lies in [0, num_actions).
  absl::Status Validate(uint32_t num_actions = 0) const;
};

struct Transitions {
  uint32_t obs_dim = 0;
  std::vector<int32_t> obs;
  std::vector<int32_t> actions;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;

  size_t size() const { return actions.size(); }
  TransitionsView view() const;
  // Resizes every array for `n` transitions of `obs_dim` values each.
  void Resize(uint32_t new_obs_dim, size_t n);
  // Appends transitions [begin, begin + count) of `from`; dies if the range
  // lies outside `from` or obs_dim differs (programmer error).
  void Append(const TransitionsView& from, size_t begin, size_t count);
  // Heap bytes held by the arrays (for cache accounting).
  size_t ByteSize() const;
};

}  // namespace ad::storage

#endif  // AD_STORAGE_TRANSITIONS_H_
