#include "envs/batch_checks.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "envs/env.h"

namespace ad::envs {

absl::Status CheckSpanSize(std::string_view field, size_t size,
                           size_t expected) {
  if (size == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s has %d entries, expected %d", field, size, expected));
}

absl::Status CheckStepArgs(const SpaceSpec& space, int num_envs,
                           absl::Span<const int32_t> actions,
                           const StepOutput& out) {
  const size_t n = static_cast<size_t>(num_envs);
  AD_RETURN_IF_ERROR(
      CheckSpanSize("actions (one per instance)", actions.size(), n));
  AD_RETURN_IF_ERROR(CheckSpanSize("out.obs (num_envs * obs_dim)",
                                   out.obs.size(), n * space.obs_dim));
  AD_RETURN_IF_ERROR(
      CheckSpanSize("out.rewards (one per instance)", out.rewards.size(), n));
  AD_RETURN_IF_ERROR(
      CheckSpanSize("out.dones (one per instance)", out.dones.size(), n));
  const uint32_t num_actions = static_cast<uint32_t>(space.num_actions);
  for (size_t i = 0; i < n; ++i) {
    // One unsigned compare rejects negative actions too.
    if (static_cast<uint32_t>(actions[i]) >= num_actions) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "actions[%d] = %d (instance %d of %s) is outside [0, %d)", i,
          actions[i], i, space.family, space.num_actions));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ExpandTaskIds(
    absl::Span<const std::string> task_ids, int num_envs) {
  if (num_envs < 1 || num_envs > kMaxNumEnvs) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "num_envs = %d is outside [1, %d]", num_envs, kMaxNumEnvs));
  }
  if (task_ids.size() == 1) {
    return std::vector<std::string>(num_envs, task_ids[0]);
  }
  if (task_ids.size() != static_cast<size_t>(num_envs)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "task_ids has %d entries, expected 1 (one task for all) or num_envs "
        "= %d",
        task_ids.size(), num_envs));
  }
  return std::vector<std::string>(task_ids.begin(), task_ids.end());
}

absl::Status TaskIdErrorAt(size_t instance, const absl::Status& status) {
  return absl::Status(
      status.code(),
      absl::StrFormat("task_ids[%d]: %s", instance, status.message()));
}

}  // namespace ad::envs
