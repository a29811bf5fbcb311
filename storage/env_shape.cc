#include "storage/env_shape.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/text_escape.h"
#include "envs/registry.h"

namespace ad::storage {

std::optional<FamilySpace> KnownFamilySpace(absl::string_view env) {
  auto family = envs::FindFamily(std::string_view(env.data(), env.size()));
  if (!family.ok()) return std::nullopt;
  const envs::SpaceSpec& spec = (*family)->space();
  FamilySpace space;
  space.shape.obs_dim = static_cast<uint32_t>(spec.obs_dim);
  space.shape.num_actions = static_cast<uint32_t>(spec.num_actions);
  space.obs_high = spec.obs_high;
  space.obs_bytes = spec.obs_bytes;
  return space;
}

absl::Status CheckShape(absl::string_view env, const EnvShape& shape,
                        const EnvShape& expected, absl::string_view what) {
  if (shape.obs_dim != expected.obs_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "meta.obs_dim is ", shape.obs_dim, " but env '", BoundedEcho(env),
        "' has obs_dim ", expected.obs_dim, " (", what, ")"));
  }
  if (shape.num_actions != expected.num_actions) {
    return absl::InvalidArgumentError(
        absl::StrCat("meta.num_actions is ", shape.num_actions, " but env '",
                     BoundedEcho(env), "' has num_actions ",
                     expected.num_actions, " (", what, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckObservations(const TransitionsView& chunk,
                               const FamilySpace& space) {
  const size_t dim = space.obs_high.size();
  for (size_t i = 0; i < chunk.obs.size(); ++i) {
    const int32_t value = chunk.obs[i];
    const int32_t high = space.obs_high[i % dim];
    if (value < 0 || value >= high) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chunk.obs[", i, "] (transition ", i / dim, ", component ", i % dim,
          ") is ", value, "; must lie in [0, ", high, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace ad::storage
