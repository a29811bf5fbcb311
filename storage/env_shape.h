// What the store checks a history's values against. Every history of one env
// must have the same shape (obs_dim, num_actions): the store pins an env's
// shape when its first history is created and rejects any later history
// that disagrees, so one bad writer cannot make an env's data unsampleable.
// When the env names a known task family (envs/registry.h) the shape must
// also be the family's, and every observation component must lie in the
// family's range.
//
// Called by TrajectoryStore::Append before anything is written. Pure
// functions, thread-safe.
#ifndef AD_STORAGE_ENV_SHAPE_H_
#define AD_STORAGE_ENV_SHAPE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/history.h"
#include "storage/transitions.h"

namespace ad::storage {

struct EnvShape {
  uint32_t obs_dim = 0;      // int32 values per observation
  uint32_t num_actions = 0;  // actions lie in [0, num_actions)

  bool operator==(const EnvShape& o) const {
    return obs_dim == o.obs_dim && num_actions == o.num_actions;
  }
  bool operator!=(const EnvShape& o) const { return !(*this == o); }
};

inline EnvShape ShapeOf(const HistoryRecord& record) {
  return EnvShape{record.obs_dim, record.num_actions};
}

// The space of a known task family.
struct FamilySpace {
  EnvShape shape;
  std::vector<int32_t> obs_high;  // component i lies in [0, obs_high[i])
  bool obs_bytes = false;         // every obs_high <= 256: chunks store bytes
};

// The space of the family called `env`, or nullopt when `env` is not a
// known family (its values are then checked only against the pinned shape).
std::optional<FamilySpace> KnownFamilySpace(absl::string_view env);

// INVALID_ARGUMENT naming the field and both values when `shape` (the
// meta of a history of `env`) differs from `expected`; `what` says where
// `expected` comes from ("the family", "the shape pinned by the env's first
// history").
absl::Status CheckShape(absl::string_view env, const EnvShape& shape,
                        const EnvShape& expected, absl::string_view what);

// INVALID_ARGUMENT naming the transition, component and range when an
// observation component lies outside the family's range. `chunk` must have
// passed TransitionsView::Validate with the family's obs_dim.
absl::Status CheckObservations(const TransitionsView& chunk,
                               const FamilySpace& space);

}  // namespace ad::storage

#endif  // AD_STORAGE_ENV_SHAPE_H_
