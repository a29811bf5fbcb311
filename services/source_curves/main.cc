// ad-source-curves: the Source baseline. Reads recorded histories from a
// FileSink directory and writes each source's learning curve (mean return per
// episode, with the env steps per stream at that episode) as CSV.
//
//   ad-source-curves --histories=/tmp/histories --out=source_curves.csv
//       [--tasks="darkroom/goal=1,2 darkroom/goal=7,7"] [--source=a3c]
//       [--every=10]  (print every 10th episode to stderr as a summary)
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "actors/file_sink.h"
#include "actors/source_curves.h"
#include "glog/logging.h"

ABSL_FLAG(std::string, histories, "", "FileSink directory (required)");
ABSL_FLAG(std::string, out, "", "CSV output path; empty: stdout");
ABSL_FLAG(std::string, tasks, "", "space-separated task ids; empty: all");
ABSL_FLAG(std::string, source, "", "only this source; empty: all");
ABSL_FLAG(bool, complete_only, false, "skip interrupted histories");
ABSL_FLAG(int, every, 0, "log every N-th episode's point; 0: none");
ABSL_FLAG(bool, per_history, false,
          "log each history's episodes and last episode's return");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes source learning curves (CSV) from recorded histories: "
      "ad-source-curves --histories=DIR --out=FILE.csv");
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (absl::GetFlag(FLAGS_histories).empty()) {
    LOG(ERROR) << "--histories is required";
    return 2;
  }
  auto histories =
      ad::actors::ReadHistoryDirectory(absl::GetFlag(FLAGS_histories));
  if (!histories.ok()) {
    LOG(ERROR) << histories.status();
    return 1;
  }
  ad::actors::CurveFilter filter;
  filter.task_ids =
      absl::StrSplit(absl::GetFlag(FLAGS_tasks), ' ', absl::SkipWhitespace());
  filter.source = absl::GetFlag(FLAGS_source);
  filter.complete_only = absl::GetFlag(FLAGS_complete_only);
  auto curves = ad::actors::SourceCurves(*histories, filter);
  if (!curves.ok()) {
    LOG(ERROR) << curves.status();
    return 1;
  }
  const std::string csv = ad::actors::CurvesToCsv(*curves);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cout << csv;
  } else {
    std::ofstream file(out);
    file << csv;
    if (!file) {
      LOG(ERROR) << "cannot write " << out;
      return 1;
    }
  }
  if (absl::GetFlag(FLAGS_per_history)) {
    for (const auto& h : *histories) {
      const auto& r = h.meta.episode_returns();
      LOG(INFO) << h.meta.history_id() << ": " << r.size()
                << " episodes, last return "
                << (r.empty() ? 0.0f : r[r.size() - 1]);
    }
  }
  const int every = absl::GetFlag(FLAGS_every);
  for (const auto& [source, points] : *curves) {
    for (const auto& p : points) {
      if (every > 0 && (p.episode % every == 0 ||
                        p.episode + 1 == static_cast<int>(points.size()))) {
        LOG(INFO) << source << " episode " << p.episode << ": return "
                  << p.mean_return << " +- " << p.std_return << " (optimal "
                  << p.optimal_return << ", " << p.histories << " histories, "
                  << p.env_steps << " steps/stream)";
      }
    }
  }
  LOG(INFO) << "read " << histories->size() << " histories, wrote "
            << (out.empty() ? "stdout" : out);
  return 0;
}
