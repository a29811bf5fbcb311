// ActorProcess: the body of `ad-actor`. Runs one source algorithm on a list
// of tasks, `parallel_tasks` tasks at a time on its own worker threads, each
// task through RunTask (actors/task_runner.h) into one shared HistorySink,
// and draws a progress line (env-steps/s, episodes, ETA) while it waits.
//
// Run() blocks until every task is done or `stop` is set (by the SIGTERM
// handler in main). On stop, each runner sends what it has recorded as
// non-final chunks; Run() then flushes the sink (waiting for the store's
// acknowledgements, up to flush_timeout) and returns OK, so the process exits
// 0 having lost nothing it had recorded. Worker threads are joined before
// Run() returns.
#ifndef AD_ACTORS_ACTOR_PROCESS_H_
#define AD_ACTORS_ACTOR_PROCESS_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actors/actor_metrics.h"
#include "actors/history_sink.h"
#include "actors/source_params.h"
#include "actors/task_runner.h"
#include "envs/env.h"

namespace ad::actors {

struct ActorOptions {
  // Env family; empty: the family of tasks[0], else "darkroom".
  std::string family;
  // Explicit task ids; when empty, the tasks of `split` of the family's
  // Split(train_fraction, split_seed) ("train", "test" or "all").
  std::vector<std::string> tasks;
  std::string split = "train";
  double train_fraction = envs::kDefaultTrainFraction;
  uint64_t split_seed = envs::kDefaultSplitSeed;
  int max_tasks = 0;  // use only the first max_tasks tasks; 0: all
  std::string source = "a3c";
  std::string preset = "cpu-demo";     // name or path (SourceParams)
  std::vector<std::string> overrides;  // "key=value", after the preset
  int parallel_tasks = 1;              // worker threads, one task each
  int torch_threads = 1;               // LibTorch intra-op threads (global)
  uint64_t seed = 1;                   // env seed of every task
  int64_t chunk_transitions = 4096;
  absl::Duration flush_timeout = absl::Seconds(60);
  absl::Duration progress_interval = absl::Seconds(2);
  absl::Status Validate() const;
};

// The tasks `options` selects, with the split each belongs to ("train" or
// "test"), in order. INVALID_ARGUMENT for an unknown task or split.
struct SelectedTask {
  std::string task_id;
  std::string split;
};
absl::StatusOr<std::vector<SelectedTask>> SelectTasks(
    const ActorOptions& options);

// The family `options` names (see ActorOptions::family).
absl::StatusOr<const envs::EnvFamily*> FamilyOf(const ActorOptions& options);

struct ActorSummary {
  int tasks_completed = 0;
  int tasks_total = 0;
  uint64_t env_steps = 0;
  uint64_t episodes = 0;
  absl::Duration elapsed;
  bool stopped = false;  // ended by `stop`
};

// Runs the actor. `sink`, `metrics` are borrowed; `stop` may be null.
// Returns the first task error (other tasks are stopped), the flush error, or
// the summary.
absl::StatusOr<ActorSummary> RunActor(const ActorOptions& options,
                                      const EnvFactory& make_env,
                                      HistorySink* sink, ActorMetrics* metrics,
                                      std::atomic<bool>* stop);

}  // namespace ad::actors

#endif  // AD_ACTORS_ACTOR_PROCESS_H_
