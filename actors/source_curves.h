// Source learning curves: the "Source" baseline the evaluator draws next to
// AD. From recorded histories (a FileSink directory today, the store later)
// it computes, per source, the mean and standard deviation over histories of
// the return of episode e, and the mean number of env steps a stream had
// taken by the end of episode e (so curves can be drawn per episode or per
// env step).
#ifndef AD_ACTORS_SOURCE_CURVES_H_
#define AD_ACTORS_SOURCE_CURVES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "actors/file_sink.h"

namespace ad::actors {

struct CurvePoint {
  int episode = 0;            // 0-based episode index within a history
  double mean_return = 0;     // over the histories that reached this episode
  double std_return = 0;      // population standard deviation
  double env_steps = 0;       // mean steps per stream by the end of the episode
  double optimal_return = 0;  // mean optimal return of those histories' tasks
  int histories = 0;
};

struct CurveFilter {
  std::vector<std::string> task_ids;  // empty: every task
  std::string source;                 // empty: every source
  bool complete_only = false;
};

// source -> curve, episodes in order.
absl::StatusOr<std::map<std::string, std::vector<CurvePoint>>> SourceCurves(
    const std::vector<RecordedHistory>& histories, const CurveFilter& filter);

// CSV with the header
//   source,episode,mean_return,std_return,env_steps,optimal_return,histories
std::string CurvesToCsv(
    const std::map<std::string, std::vector<CurvePoint>>& curves);

}  // namespace ad::actors

#endif  // AD_ACTORS_SOURCE_CURVES_H_
