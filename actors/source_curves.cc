#include "actors/source_curves.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "envs/registry.h"

namespace ad::actors {
namespace {

struct Accumulator {
  double sum = 0, sum_sq = 0, steps = 0, optimal = 0;
  int count = 0;
};

}  // namespace

absl::StatusOr<std::map<std::string, std::vector<CurvePoint>>> SourceCurves(
    const std::vector<RecordedHistory>& histories, const CurveFilter& filter) {
  std::map<std::string, std::vector<Accumulator>> acc;
  for (const RecordedHistory& h : histories) {
    if (!filter.source.empty() && h.meta.source() != filter.source) continue;
    if (filter.complete_only && !h.meta.complete()) continue;
    if (!filter.task_ids.empty() &&
        std::find(filter.task_ids.begin(), filter.task_ids.end(),
                  h.meta.task_id()) == filter.task_ids.end()) {
      continue;
    }
    AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                        envs::FamilyOfTask(h.meta.task_id()));
    AD_ASSIGN_OR_RETURN(double optimal,
                        family->OptimalReturn(h.meta.task_id()));
    std::vector<Accumulator>& curve = acc[h.meta.source()];
    int episode = 0;
    double ret = 0;
    const auto& t = h.transitions;
    for (int k = 0; k < t.actions_size(); ++k) {
      ret += t.rewards(k);
      if (t.dones()[k] == 0) continue;
      if (static_cast<int>(curve.size()) <= episode) curve.resize(episode + 1);
      Accumulator& a = curve[episode];
      a.sum += ret;
      a.sum_sq += ret * ret;
      a.steps += k + 1;
      a.optimal += optimal;
      ++a.count;
      ret = 0;
      ++episode;
    }
  }
  std::map<std::string, std::vector<CurvePoint>> out;
  for (const auto& [source, curve] : acc) {
    std::vector<CurvePoint>& points = out[source];
    for (size_t e = 0; e < curve.size(); ++e) {
      const Accumulator& a = curve[e];
      if (a.count == 0) continue;
      CurvePoint p;
      p.episode = static_cast<int>(e);
      p.histories = a.count;
      p.mean_return = a.sum / a.count;
      p.std_return = std::sqrt(
          std::max(0.0, a.sum_sq / a.count - p.mean_return * p.mean_return));
      p.env_steps = a.steps / a.count;
      p.optimal_return = a.optimal / a.count;
      points.push_back(p);
    }
  }
  return out;
}

std::string CurvesToCsv(
    const std::map<std::string, std::vector<CurvePoint>>& curves) {
  std::string csv =
      "source,episode,mean_return,std_return,env_steps,optimal_return,"
      "histories\n";
  for (const auto& [source, points] : curves) {
    for (const CurvePoint& p : points) {
      absl::StrAppendFormat(&csv, "%s,%d,%.6g,%.6g,%.6g,%.6g,%d\n", source,
                            p.episode, p.mean_return, p.std_return, p.env_steps,
                            p.optimal_return, p.histories);
    }
  }
  return csv;
}

}  // namespace ad::actors
