// Test helpers (header-only, for the actors tests): run a source on a task
// with the `test` preset into a FileSink under a temporary directory, and
// average the recorded returns over a range of episodes.
#ifndef AD_ACTORS_SOURCE_TEST_UTIL_H_
#define AD_ACTORS_SOURCE_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "actors/file_sink.h"
#include "actors/source_params.h"
#include "actors/source_registry.h"
#include "actors/task_runner.h"
#include "actors/torch_util.h"
#include "common/status_macros.h"

namespace ad::actors::testing {

// A fresh directory under $TEST_TMPDIR (or /tmp) named after `name`.
inline std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp",
                                 "/ad_actors_test_", getpid(), "_", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs `source` on `task_id` with the budget of the `test` preset (plus
// `overrides`, "key=value"), recording into `dir`.
inline absl::StatusOr<TaskRunResult> RunSource(
    const std::string& source, const std::string& task_id, uint64_t seed,
    const std::string& dir, const std::vector<std::string>& overrides = {},
    int64_t chunk_transitions = 4096) {
  SetComputeThreads(1);  // as ad-actor does by default
  AD_ASSIGN_OR_RETURN(SourceParams params, SourceParams::LoadPreset("test"));
  for (const std::string& o : overrides) AD_RETURN_IF_ERROR(params.Override(o));
  AD_ASSIGN_OR_RETURN(SourceBudget budget, BudgetFor(source, params));
  AD_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> sink,
                      FileSink::Create(FileSink::Options{dir}));
  TaskRunOptions options;
  options.source = source;
  options.task_id = task_id;
  options.num_streams = budget.streams;
  options.episodes_per_stream = budget.episodes;
  options.seed = seed;
  options.chunk_transitions = chunk_transitions;
  AD_ASSIGN_OR_RETURN(TaskRunResult result,
                      RunTask(options, params, LocalEnvFactory(), sink.get(),
                              /*stop=*/nullptr, /*observer=*/nullptr));
  AD_RETURN_IF_ERROR(sink->Flush(absl::Seconds(30)));
  return result;
}

// Mean return over every stream's episodes [begin, end).
inline double MeanReturn(const TaskRunResult& r, int begin, int end) {
  double sum = 0;
  int64_t count = 0;
  for (const std::vector<float>& stream : r.episode_returns) {
    for (int e = begin; e < end && e < static_cast<int>(stream.size()); ++e) {
      sum += stream[e];
      ++count;
    }
  }
  return count > 0 ? sum / static_cast<double>(count) : 0.0;
}

}  // namespace ad::actors::testing

#endif  // AD_ACTORS_SOURCE_TEST_UTIL_H_
