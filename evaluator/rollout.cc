#include "evaluator/rollout.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "evaluator/context_buffer.h"

namespace ad::evaluator {
namespace {

absl::Status CheckPrompt(const Prompt& prompt, size_t rows, size_t obs_dim) {
  if (prompt.length < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("prompt.length is %d, want >= 0", prompt.length));
  }
  const size_t n = rows * prompt.length;
  auto check = [](const char* field, size_t got, size_t want) {
    return got == want ? absl::OkStatus()
                       : absl::InvalidArgumentError(absl::StrFormat(
                             "prompt.%s has %d values, want %d (rows x "
                             "length%s)",
                             field, got, want,
                             std::string(field) == "obs" ? " x obs_dim" : ""));
  };
  AD_RETURN_IF_ERROR(check("obs", prompt.obs.size(), n * obs_dim));
  AD_RETURN_IF_ERROR(check("actions", prompt.actions.size(), n));
  AD_RETURN_IF_ERROR(check("rewards", prompt.rewards.size(), n));
  AD_RETURN_IF_ERROR(check("dones", prompt.dones.size(), n));
  return absl::OkStatus();
}

absl::Status PushPrompt(const Prompt& prompt, ContextBuffer& context) {
  const int rows = context.rows();
  const int obs_dim = context.obs_dim();
  // Only the last `capacity` transitions can matter.
  const int skip = std::max(0, prompt.length - context.capacity());
  std::vector<int32_t> obs(static_cast<size_t>(rows) * obs_dim);
  std::vector<int32_t> actions(rows);
  std::vector<float> rewards(rows);
  std::vector<uint8_t> dones(rows);
  for (int t = skip; t < prompt.length; ++t) {
    for (int r = 0; r < rows; ++r) {
      const size_t at = static_cast<size_t>(r) * prompt.length + t;
      std::copy_n(prompt.obs.begin() + at * obs_dim, obs_dim,
                  obs.begin() + static_cast<size_t>(r) * obs_dim);
      actions[r] = prompt.actions[at];
      rewards[r] = prompt.rewards[at];
      dones[r] = prompt.dones[at];
    }
    AD_RETURN_IF_ERROR(context.Push(obs, actions, rewards, dones));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RolloutOptions::Validate() const {
  if (episodes < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("episodes is %d, want >= 1", episodes));
  }
  if (context_len < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("context_len is %d, want >= 1", context_len));
  }
  if (rows_per_call < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "rows_per_call is %d, want >= 0 (0: all rows)", rows_per_call));
  }
  return absl::OkStatus();
}

absl::StatusOr<RolloutResult> RunRollout(const envs::EnvFamily& family,
                                         absl::Span<const RowSpec> rows,
                                         InContextPolicy& policy,
                                         const RolloutOptions& options,
                                         const Prompt* prompt,
                                         const RolloutHooks& hooks) {
  AD_RETURN_IF_ERROR(options.Validate());
  if (rows.empty()) {
    return absl::InvalidArgumentError("rows is empty, want >= 1 row");
  }
  const envs::SpaceSpec& space = family.space();
  const int num_rows = static_cast<int>(rows.size());
  std::vector<std::string> task_ids;
  task_ids.reserve(rows.size());
  for (const RowSpec& row : rows) {
    AD_RETURN_IF_ERROR(family.ValidateTask(row.task_id));
    task_ids.push_back(row.task_id);
  }
  if (prompt != nullptr) {
    AD_RETURN_IF_ERROR(CheckPrompt(*prompt, rows.size(), space.obs_dim));
  }
  const absl::Time start = absl::Now();
  AD_ASSIGN_OR_RETURN(std::unique_ptr<envs::BatchedEnv> env,
                      family.Make(task_ids, num_rows, options.env_seed));
  AD_RETURN_IF_ERROR(policy.Begin(space, rows));

  const int obs_dim = space.obs_dim;
  ContextBuffer context(num_rows, options.context_len, obs_dim);
  if (prompt != nullptr) AD_RETURN_IF_ERROR(PushPrompt(*prompt, context));

  RolloutResult result;
  result.rows.assign(rows.begin(), rows.end());
  result.episodes = options.episodes;
  result.returns.assign(static_cast<size_t>(num_rows) * options.episodes, 0);
  result.end_steps.assign(result.returns.size(), 0);

  std::vector<int32_t> obs(static_cast<size_t>(num_rows) * obs_dim);
  std::vector<int32_t> next_obs(obs.size());
  std::vector<int32_t> actions(num_rows);
  std::vector<float> rewards(num_rows);
  std::vector<uint8_t> dones(num_rows);
  std::vector<int> episodes_done(num_rows, 0);
  std::vector<double> running_return(num_rows, 0.0);
  std::vector<int64_t> steps(num_rows, 0);
  AD_RETURN_IF_ERROR(env->Reset(absl::MakeSpan(obs)));

  const int per_call = options.rows_per_call == 0
                           ? num_rows
                           : std::min(options.rows_per_call, num_rows);
  int slowest = 0;  // episodes finished by every row
  absl::Duration in_policy;
  while (slowest < options.episodes) {
    if (hooks.cancelled && hooks.cancelled()) {
      return absl::CancelledError(
          absl::StrFormat("rollout cancelled after %d of %d episodes", slowest,
                          options.episodes));
    }
    AD_RETURN_IF_ERROR(context.SetCurrentObs(obs));
    const absl::Time policy_start = absl::Now();
    for (int first = 0; first < num_rows; first += per_call) {
      const int count = std::min(per_call, num_rows - first);
      AD_RETURN_IF_ERROR(
          policy.Act(context.View(first, count), *env,
                     absl::MakeSpan(actions).subspan(first, count)));
      ++result.policy_calls;
    }
    in_policy += absl::Now() - policy_start;
    AD_RETURN_IF_ERROR(env->Step(
        actions,
        envs::StepOutput{absl::MakeSpan(next_obs), absl::MakeSpan(rewards),
                         absl::MakeSpan(dones)}));
    AD_RETURN_IF_ERROR(context.Push(obs, actions, rewards, dones));
    if (hooks.on_transition) hooks.on_transition(obs, actions, rewards, dones);
    int now_slowest = options.episodes;
    for (int r = 0; r < num_rows; ++r) {
      if (episodes_done[r] < options.episodes) {
        ++steps[r];
        ++result.env_steps;
        running_return[r] += rewards[r];
        if (dones[r] != 0) {
          const size_t at =
              static_cast<size_t>(r) * options.episodes + episodes_done[r];
          result.returns[at] = static_cast<float>(running_return[r]);
          result.end_steps[at] = steps[r];
          running_return[r] = 0.0;
          ++episodes_done[r];
        }
      }
      now_slowest = std::min(now_slowest, episodes_done[r]);
    }
    if (now_slowest > slowest) {
      slowest = now_slowest;
      if (hooks.on_episode) hooks.on_episode(slowest);
    }
    obs.swap(next_obs);
  }
  result.policy_seconds = absl::ToDoubleSeconds(in_policy);
  result.total_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

}  // namespace ad::evaluator
