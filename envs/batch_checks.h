// Argument checks shared by every BatchedEnv implementation.
//
// Each BatchedEnv validates all of its inputs before it changes any state;
// these functions produce the INVALID_ARGUMENT errors for that, with messages
// that name the field, the instance and the allowed range. They also expand
// the task ids given to EnvFamily::Make (one per instance, or one for all).
#ifndef AD_ENVS_BATCH_CHECKS_H_
#define AD_ENVS_BATCH_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envs/env.h"

namespace ad::envs {

// The largest batch EnvFamily::Make accepts.
inline constexpr int kMaxNumEnvs = 1 << 20;

// INVALID_ARGUMENT unless `size` == `expected`; `field` names the span.
absl::Status CheckSpanSize(std::string_view field, size_t size,
                           size_t expected);

// The checks of BatchedEnv::Step: every span's size, then every action in
// [0, space.num_actions).
absl::Status CheckStepArgs(const SpaceSpec& space, int num_envs,
                           absl::Span<const int32_t> actions,
                           const StepOutput& out);

// The task id of every instance for EnvFamily::Make: `task_ids` holds one id
// per instance or a single id for all. Checks 1 <= num_envs <= kMaxNumEnvs.
absl::StatusOr<std::vector<std::string>> ExpandTaskIds(
    absl::Span<const std::string> task_ids, int num_envs);

// Prefixes a task-id error with the instance it belongs to ("task_ids[3]: ").
absl::Status TaskIdErrorAt(size_t instance, const absl::Status& status);

// Parses the task of every instance with `parse` (std::string_view ->
// absl::StatusOr<Task>), once per run of equal ids; errors name the instance.
template <typename Task, typename Parse>
absl::StatusOr<std::vector<Task>> ParseTaskIds(
    const std::vector<std::string>& task_ids, Parse parse) {
  std::vector<Task> tasks;
  tasks.reserve(task_ids.size());
  for (size_t i = 0; i < task_ids.size(); ++i) {
    if (i > 0 && task_ids[i] == task_ids[i - 1]) {
      tasks.push_back(tasks.back());
      continue;
    }
    absl::StatusOr<Task> task = parse(task_ids[i]);
    if (!task.ok()) return TaskIdErrorAt(i, task.status());
    tasks.push_back(*std::move(task));
  }
  return tasks;
}

}  // namespace ad::envs

#endif  // AD_ENVS_BATCH_CHECKS_H_
