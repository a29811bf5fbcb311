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
  const int32_t* high = space.obs_high.data();
  for (size_t t = 0; t * dim < chunk.obs.size(); ++t) {
    // One pass per transition without branches, so that it vectorises
    // (pixel families check ~20k components per transition); the rare bad
    // value is then located for the message.
    const int32_t* obs = chunk.obs.data() + t * dim;
    bool bad = false;
    for (size_t c = 0; c < dim; ++c) {
      bad |= static_cast<uint32_t>(obs[c]) >= static_cast<uint32_t>(high[c]);
    }
    if (!bad) continue;
    for (size_t c = 0; c < dim; ++c) {
      if (obs[c] < 0 || obs[c] >= high[c]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "chunk.obs[", t * dim + c, "] (transition ", t, ", component ", c,
            ") is ", obs[c], "; must lie in [0, ", high[c], ")"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ad::storage
