#include "actors/task_runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actors/history_recorder.h"
#include "actors/source_registry.h"
#include "common/history_id.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "glog/logging.h"

namespace ad::actors {
namespace {

// FNV-1a: a hash that is stable across runs and platforms.
uint64_t StableHash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

EnvFactory LocalEnvFactory() {
  return
      [](const std::string& family, const std::vector<std::string>& ids,
         int num_envs,
         uint64_t seed) -> absl::StatusOr<std::unique_ptr<envs::BatchedEnv>> {
        AD_ASSIGN_OR_RETURN(const envs::EnvFamily* f, envs::FindFamily(family));
        return f->Make(ids, num_envs, seed);
      };
}

absl::Status TaskRunOptions::Validate() const {
  if (source.empty()) return absl::InvalidArgumentError("source is empty");
  if (task_id.empty()) return absl::InvalidArgumentError("task_id is empty");
  if (split != "train" && split != "test") {
    return absl::InvalidArgumentError(
        absl::StrCat("split is '", split, "'; must be train or test"));
  }
  if (num_streams < 1 || num_streams > 100000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_streams is ", num_streams, "; must be in [1, 100000]"));
  }
  if (episodes_per_stream < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "episodes_per_stream is ", episodes_per_stream, "; must be >= 1"));
  }
  HistoryRecorder::Options recorder{chunk_transitions};
  return recorder.Validate();
}

std::string MakeHistoryId(const std::string& source, const std::string& task_id,
                          uint64_t seed, int stream) {
  std::string id =
      absl::StrCat(source, ":", task_id, ":seed=", seed, ":stream=", stream);
  // Task ids may hold characters outside the history-id alphabet
  // [A-Za-z0-9._:/=,-] (Key-to-Door's ';'); they become '_'.
  for (char& c : id) {
    if (!IsHistoryIdChar(c)) c = '_';
  }
  return id;
}

absl::StatusOr<TaskRunResult> RunTask(const TaskRunOptions& options,
                                      const SourceParams& params,
                                      const EnvFactory& make_env,
                                      HistorySink* sink,
                                      const std::atomic<bool>* stop,
                                      RunObserver* observer) {
  AD_RETURN_IF_ERROR(options.Validate());
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FamilyOfTask(options.task_id));
  AD_RETURN_IF_ERROR(family->ValidateTask(options.task_id));
  AD_ASSIGN_OR_RETURN(const SourceInfo* source, FindSource(options.source));
  const int n = options.num_streams;
  AD_ASSIGN_OR_RETURN(
      std::unique_ptr<envs::BatchedEnv> env,
      make_env(family->space().family, {options.task_id}, n, options.seed));
  const envs::SpaceSpec& space = env->space();

  TaskSpec spec;
  spec.space = space;
  spec.task_id = options.task_id;
  spec.num_streams = n;
  spec.episodes_per_stream = options.episodes_per_stream;
  spec.seed = options.seed ^ StableHash(options.task_id);
  SourceParams local_params = params;
  AD_ASSIGN_OR_RETURN(std::unique_ptr<SourceAgent> agent,
                      source->make(spec, local_params));
  // The budget keys are the caller's (BudgetFor); mark them read.
  AD_RETURN_IF_ERROR(BudgetFor(options.source, local_params).status());
  AD_RETURN_IF_ERROR(local_params.CheckAllUsed(options.source));

  TaskRunResult result;
  AD_ASSIGN_OR_RETURN(result.optimal_return,
                      family->OptimalReturn(options.task_id));
  std::vector<HistoryRecorder> recorders;
  recorders.reserve(n);
  for (int i = 0; i < n; ++i) {
    ad::v1::HistoryMeta meta;
    meta.set_history_id(
        MakeHistoryId(options.source, options.task_id, options.seed, i));
    meta.set_env(space.family);
    meta.set_task_id(options.task_id);
    meta.set_source(options.source);
    meta.set_seed(options.seed);
    meta.set_stream(static_cast<uint32_t>(i));
    meta.set_split(options.split);
    meta.set_obs_dim(static_cast<uint32_t>(space.obs_dim));
    meta.set_num_actions(static_cast<uint32_t>(space.num_actions));
    recorders.emplace_back(std::move(meta), sink,
                           HistoryRecorder::Options{options.chunk_transitions});
  }

  const int d = space.obs_dim;
  std::vector<int32_t> obs(static_cast<size_t>(n) * d);
  std::vector<int32_t> next_obs(obs.size());
  std::vector<int32_t> actions(n), expert;
  std::vector<float> rewards(n);
  std::vector<uint8_t> dones(n);
  std::vector<int> episodes_done(n, 0);
  std::vector<float> ended;
  if (agent->UsesExpertActions()) expert.resize(n);
  AD_RETURN_IF_ERROR(env->Reset(absl::MakeSpan(obs)));

  int unfinished = n;
  bool stopped = false;
  absl::Status status;
  while (unfinished > 0) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
      stopped = true;
      break;
    }
    if (!expert.empty()) {
      status = env->ExpertActions(absl::MakeSpan(expert));
      if (!status.ok()) break;
    }
    status = agent->Act(obs, expert, absl::MakeSpan(actions));
    if (!status.ok()) break;
    status = env->Step(actions, envs::StepOutput{absl::MakeSpan(next_obs),
                                                 absl::MakeSpan(rewards),
                                                 absl::MakeSpan(dones)});
    if (!status.ok()) break;
    uint64_t recorded = 0;
    ended.clear();
    for (int i = 0; i < n && status.ok(); ++i) {
      if (episodes_done[i] >= options.episodes_per_stream) continue;
      status = recorders[i].Record(
          absl::MakeConstSpan(obs.data() + static_cast<size_t>(i) * d, d),
          actions[i], rewards[i], dones[i] != 0);
      ++recorded;
      if (dones[i] != 0) {
        ended.push_back(recorders[i].episode_returns().back());
        if (++episodes_done[i] == options.episodes_per_stream) {
          --unfinished;
          if (status.ok()) status = recorders[i].Finish(/*complete=*/true);
        }
      }
    }
    if (!status.ok()) break;
    result.env_steps += recorded;
    if (observer != nullptr) {
      observer->OnSteps(options.source, recorded);
      if (!ended.empty()) observer->OnEpisodes(options.source, ended);
    }
    status = agent->Observe(StepView{obs, actions, rewards, dones, next_obs});
    if (!status.ok()) break;
    std::swap(obs, next_obs);
  }
  if (!status.ok() || stopped) {
    // Stopped or failed (env or sink lost): the chunks already sent stay,
    // the unsent tails are dropped and the histories stay incomplete. A
    // later run redoes the task from the start, and a short chunk sent now
    // would take the seq that the redone run fills with a whole chunk,
    // which the store refuses as a different chunking of the history (a
    // demo stopped by its stage timeout could not be resumed: every
    // interrupted history failed the rerun's actor).
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat(options.source, " on ", options.task_id,
                                       ": ", status.message()));
    }
    return absl::CancelledError(absl::StrCat(options.source, " on ",
                                             options.task_id, " stopped after ",
                                             result.env_steps, " steps"));
  }
  result.episode_returns.reserve(n);
  for (const HistoryRecorder& r : recorders) {
    result.episode_returns.push_back(r.episode_returns());
  }
  return result;
}

}  // namespace ad::actors
