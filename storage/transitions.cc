#include "storage/transitions.h"

#include <glog/logging.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace ad::storage {

absl::Status TransitionsView::Validate(uint32_t num_actions) const {
  const size_t n = size();
  if (obs_dim == 0) {
    return absl::InvalidArgumentError("obs_dim must be at least 1, got 0");
  }
  if (obs.size() != n * obs_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("obs has ", obs.size(), " values; expected ", n * obs_dim,
                     " (", n, " transitions x obs_dim ", obs_dim, ")"));
  }
  if (rewards.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("rewards has ", rewards.size(), " values; expected ", n,
                     " (one per action)"));
  }
  if (dones.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("dones has ", dones.size(),
                                                   " bytes; expected ", n,
                                                   " (one per action)"));
  }
  for (size_t i = 0; i < n; ++i) {
    if (dones[i] > 1) {
      return absl::InvalidArgumentError(absl::StrCat("dones[", i, "] is ",
                                                     static_cast<int>(dones[i]),
                                                     "; must be 0 or 1"));
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(rewards[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("rewards[", i, "] is ", rewards[i], "; must be finite"));
    }
  }
  if (num_actions > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (actions[i] < 0 || static_cast<uint32_t>(actions[i]) >= num_actions) {
        return absl::InvalidArgumentError(
            absl::StrCat("actions[", i, "] is ", actions[i],
                         "; must lie in [0, ", num_actions, ")"));
      }
    }
  }
  return absl::OkStatus();
}

TransitionsView Transitions::view() const {
  TransitionsView v;
  v.obs_dim = obs_dim;
  v.obs = obs;
  v.actions = actions;
  v.rewards = rewards;
  v.dones = dones;
  return v;
}

void Transitions::Resize(uint32_t new_obs_dim, size_t n) {
  obs_dim = new_obs_dim;
  obs.resize(n * new_obs_dim);
  actions.resize(n);
  rewards.resize(n);
  dones.resize(n);
}

void Transitions::Append(const TransitionsView& from, size_t begin,
                         size_t count) {
  CHECK_LE(begin + count, from.size());
  if (size() == 0) obs_dim = from.obs_dim;
  CHECK_EQ(obs_dim, from.obs_dim);
  const size_t d = from.obs_dim;
  obs.insert(obs.end(), from.obs.begin() + begin * d,
             from.obs.begin() + (begin + count) * d);
  actions.insert(actions.end(), from.actions.begin() + begin,
                 from.actions.begin() + begin + count);
  rewards.insert(rewards.end(), from.rewards.begin() + begin,
                 from.rewards.begin() + begin + count);
  dones.insert(dones.end(), from.dones.begin() + begin,
               from.dones.begin() + begin + count);
}

size_t Transitions::ByteSize() const {
  return obs.capacity() * sizeof(int32_t) +
         actions.capacity() * sizeof(int32_t) +
         rewards.capacity() * sizeof(float) + dones.capacity();
}

}  // namespace ad::storage
