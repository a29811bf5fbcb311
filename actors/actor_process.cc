#include "actors/actor_process.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "actors/source_registry.h"
#include "actors/torch_util.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "glog/logging.h"

namespace ad::actors {

absl::Status ActorOptions::Validate() const {
  if (split != "train" && split != "test" && split != "all") {
    return absl::InvalidArgumentError(
        absl::StrCat("split is '", split, "'; must be train, test or all"));
  }
  if (!(train_fraction > 0 && train_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train_fraction is ", train_fraction, "; must be in (0, 1]"));
  }
  if (max_tasks < 0) {
    return absl::InvalidArgumentError("max_tasks must be >= 0");
  }
  if (parallel_tasks < 1 || parallel_tasks > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parallel_tasks is ", parallel_tasks, "; must be in [1, 1024]"));
  }
  if (torch_threads < 1 || torch_threads > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "torch_threads is ", torch_threads, "; must be in [1, 1024]"));
  }
  if (flush_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("flush_timeout must be positive");
  }
  AD_RETURN_IF_ERROR(FindSource(source).status());
  return absl::OkStatus();
}

absl::StatusOr<const envs::EnvFamily*> FamilyOf(const ActorOptions& options) {
  if (!options.family.empty()) return envs::FindFamily(options.family);
  if (!options.tasks.empty()) return envs::FamilyOfTask(options.tasks[0]);
  return envs::FindFamily("darkroom");
}

absl::StatusOr<std::vector<SelectedTask>> SelectTasks(
    const ActorOptions& options) {
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family, FamilyOf(options));
  const envs::TaskSplit split =
      family->Split(options.train_fraction, options.split_seed);
  auto split_of = [&](const std::string& task) {
    for (const std::string& t : split.test) {
      if (t == task) return std::string("test");
    }
    return std::string("train");
  };
  std::vector<SelectedTask> tasks;
  if (!options.tasks.empty()) {
    for (const std::string& task : options.tasks) {
      AD_ASSIGN_OR_RETURN(const envs::EnvFamily* f, envs::FamilyOfTask(task));
      if (f != family) {
        return absl::InvalidArgumentError(
            absl::StrCat("task ", task, " is not of family ", options.family));
      }
      AD_RETURN_IF_ERROR(family->ValidateTask(task));
      tasks.push_back({task, split_of(task)});
    }
  } else {
    if (options.split != "test") {
      for (const std::string& t : split.train) tasks.push_back({t, "train"});
    }
    if (options.split != "train") {
      for (const std::string& t : split.test) tasks.push_back({t, "test"});
    }
  }
  if (options.max_tasks > 0 &&
      static_cast<int>(tasks.size()) > options.max_tasks) {
    tasks.resize(options.max_tasks);
  }
  if (tasks.empty()) {
    return absl::InvalidArgumentError("no tasks selected");
  }
  return tasks;
}

absl::StatusOr<ActorSummary> RunActor(const ActorOptions& options,
                                      const EnvFactory& make_env,
                                      HistorySink* sink, ActorMetrics* metrics,
                                      std::atomic<bool>* stop) {
  AD_RETURN_IF_ERROR(options.Validate());
  AD_ASSIGN_OR_RETURN(std::vector<SelectedTask> tasks, SelectTasks(options));
  AD_ASSIGN_OR_RETURN(SourceParams params,
                      SourceParams::LoadPreset(options.preset));
  for (const std::string& o : options.overrides) {
    AD_RETURN_IF_ERROR(params.Override(o));
  }
  AD_ASSIGN_OR_RETURN(SourceBudget budget, BudgetFor(options.source, params));
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family, FamilyOf(options));
  SetComputeThreads(options.torch_threads);

  std::atomic<bool> local_stop{false};
  std::atomic<bool>* stop_flag = stop != nullptr ? stop : &local_stop;
  std::atomic<bool> abort{false};  // a task failed: stop the others
  std::atomic<size_t> next_task{0};
  std::atomic<int> workers_left{0};
  absl::Mutex mu;
  absl::Status first_error;  // guarded by mu
  absl::Notification all_done;

  const int workers =
      std::min<int>(options.parallel_tasks, static_cast<int>(tasks.size()));
  workers_left = workers;
  // Each worker watches `combined`, set when either stop or abort is.
  std::atomic<bool> combined{false};
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t k = next_task++; k < tasks.size() && !combined.load();
           k = next_task++) {
        TaskRunOptions run;
        run.source = options.source;
        run.task_id = tasks[k].task_id;
        run.split = tasks[k].split;
        run.num_streams = budget.streams;
        run.episodes_per_stream = budget.episodes;
        run.seed = options.seed;
        run.chunk_transitions = options.chunk_transitions;
        absl::StatusOr<TaskRunResult> result =
            RunTask(run, params, make_env, sink, &combined, metrics);
        if (result.ok()) {
          if (metrics != nullptr) metrics->OnTaskCompleted();
        } else if (!absl::IsCancelled(result.status())) {
          absl::MutexLock lock(&mu);
          if (first_error.ok()) first_error = result.status();
          abort = true;
        }
      }
      if (--workers_left == 0) all_done.Notify();
    });
  }

  const uint64_t total_steps = static_cast<uint64_t>(tasks.size()) *
                               budget.streams * budget.episodes *
                               family->space().episode_len;
  Progress progress(absl::StrCat("ad-actor ", options.source), "env-steps",
                    total_steps, options.progress_interval);
  // Wakes on: all workers done, or the poll interval (to propagate stop and
  // redraw progress).
  while (!all_done.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
    if (stop_flag->load() || abort.load()) combined = true;
    if (metrics != nullptr) {
      progress.Update(
          metrics->env_steps(),
          absl::StrFormat("episodes %d, tasks %d/%d, mean return %.2f",
                          metrics->episodes(), metrics->tasks_completed(),
                          tasks.size(),
                          metrics->RecentMeanReturn(options.source)));
    }
  }
  for (std::thread& t : threads) t.join();

  ActorSummary summary;
  summary.tasks_total = static_cast<int>(tasks.size());
  summary.stopped = stop_flag->load();
  if (metrics != nullptr) {
    summary.tasks_completed = static_cast<int>(metrics->tasks_completed());
    summary.env_steps = metrics->env_steps();
    summary.episodes = metrics->episodes();
    progress.Finish(absl::StrFormat(
        "episodes %d, tasks %d/%d, mean return %.2f%s", summary.episodes,
        summary.tasks_completed, summary.tasks_total,
        metrics->RecentMeanReturn(options.source),
        summary.stopped ? " (stopped)" : ""));
  }
  // Flush even after an error: what was recorded is kept.
  absl::Status flushed = sink->Flush(options.flush_timeout);
  summary.elapsed = absl::Now() - start;
  {
    absl::MutexLock lock(&mu);
    if (!first_error.ok()) return first_error;
  }
  if (!flushed.ok()) return flushed;
  return summary;
}

}  // namespace ad::actors
