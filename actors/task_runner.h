// Runs one source algorithm on one task: makes the task's batch of
// environment instances (one per stream), steps it with the agent's actions
// until every stream has played its episode budget, and records each stream's
// history through a HistoryRecorder into the sink.
//
// RunTask blocks the calling thread for the whole run (the actor process runs
// several tasks at once on a thread pool). It polls `stop` once per batched
// step: on stop it sends what each recorder holds as an ordinary (non-final)
// chunk, so interrupted histories stay incomplete in the sink, and returns
// CANCELLED. On an error (env, agent or sink) it sends nothing more: the
// unsent partial chunks are dropped, so that a rerun of the task, which
// regenerates the same histories in whole chunks, continues them in the
// store. The environment comes from an EnvFactory, so the same loop runs
// against in-process envs or the env service.
#ifndef AD_ACTORS_TASK_RUNNER_H_
#define AD_ACTORS_TASK_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "actors/history_sink.h"
#include "actors/source_params.h"
#include "envs/env.h"

namespace ad::actors {

// Makes `num_envs` instances of `family` for `task_ids` (one id, or one per
// instance) with `seed`; the signature of services/env's MakeEnv.
using EnvFactory =
    std::function<absl::StatusOr<std::unique_ptr<envs::BatchedEnv>>(
        const std::string& family, const std::vector<std::string>& task_ids,
        int num_envs, uint64_t seed)>;

// In-process environments from the envs registry.
EnvFactory LocalEnvFactory();

// Receives progress from runners on any thread; implementations must be
// thread-safe and cheap (called once per batched step).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // `steps` environment steps were taken by `source`'s streams.
  virtual void OnSteps(const std::string& source, uint64_t steps) = 0;
  // Episodes ended with these returns.
  virtual void OnEpisodes(const std::string& source,
                          absl::Span<const float> returns) = 0;
};

struct TaskRunOptions {
  std::string source;           // a registry name, e.g. "a3c"
  std::string task_id;          // e.g. "darkroom/goal=3,7"
  std::string split = "train";  // recorded in the meta: "train" or "test"
  int num_streams = 1;          // histories recorded for this task
  int episodes_per_stream = 1;  // budget
  uint64_t seed = 0;  // environment seed (recorded as meta.seed); the agent's
                      // seed is derived from it and the task id
  int64_t chunk_transitions = 4096;  // per sink chunk
  absl::Status Validate() const;
};

struct TaskRunResult {
  std::vector<std::vector<float>> episode_returns;  // [stream][episode]
  uint64_t env_steps = 0;                           // recorded transitions
  double optimal_return = 0;  // the task's optimal return per episode
};

// The history id of one stream: "<source>:<task_id>:seed=<seed>:stream=<i>",
// with characters outside [A-Za-z0-9._:/=,-] replaced by '_'.
std::string MakeHistoryId(const std::string& source, const std::string& task_id,
                          uint64_t seed, int stream);

// Runs the task. `sink` must outlive the call; `stop` and `observer` may be
// null. CANCELLED when stopped (histories flushed as incomplete), otherwise
// the first error of the env, agent or sink.
absl::StatusOr<TaskRunResult> RunTask(const TaskRunOptions& options,
                                      const SourceParams& params,
                                      const EnvFactory& make_env,
                                      HistorySink* sink,
                                      const std::atomic<bool>* stop,
                                      RunObserver* observer);

}  // namespace ad::actors

#endif  // AD_ACTORS_TASK_RUNNER_H_
