// Learning curves and the files they are written to.
//
// A Curve is one method's per-episode returns on a set of rows (task x seed):
// the AD rollout, a baseline, or the source algorithm's recorded histories.
// A Panel groups the curves that share a plot (with the optimal return as a
// reference line); a Report is one experiment's panels. Experiments build
// Reports; WriteReport turns one into
//
//   DIR/curves.csv   panel,method,episode,env_steps,mean,std,n
//   DIR/returns.csv  panel,method,row,episode,return   (every row, raw)
//   DIR/report.json  everything, read by evaluator/plot_curves.py
//
// and SummaryTable prints the per-method numbers the issue asks about (mean
// return over early and late episode windows, as a fraction of optimal).
// Mean and std are over rows (tasks x evaluation seeds), population std.
// Plain data, no threads.
#ifndef AD_EVALUATOR_CURVES_H_
#define AD_EVALUATOR_CURVES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "evaluator/rollout.h"

namespace ad::evaluator {

struct Curve {
  std::string method;                       // "ad", "ed", "heuristic", ...
  std::vector<std::string> row_labels;      // "darkroom/goal=3,7#seed=2"
  std::vector<std::vector<float>> returns;  // [row][episode]; rows may differ
                                            // in length (source histories)
  // Environment steps per episode of one row (for the env-steps axis); 0
  // when unknown.
  double steps_per_episode = 0;

  // Number of episodes in the longest row.
  int Episodes() const;
  // Mean, population std and count of rows having episode e.
  double Mean(int e) const;
  double Std(int e) const;
  int Count(int e) const;
  // Mean over episodes [first, last] (1-based, inclusive, clipped to what
  // exists) of the per-episode means; NaN when the window is empty.
  double WindowMean(int first, int last) const;
  // Data efficiency (paper Fig. 4 and 6): the first episode (1-based) whose
  // mean over rows is at least `level` (e.g. 0.8 x optimal); 0 if none.
  int EpisodesToReach(double level) const;
};

// The fraction of optimal return at which data efficiency is measured.
inline constexpr double kReachFraction = 0.8;

// A curve from a rollout; rows labelled "task#seed=N".
Curve CurveFromRollout(const std::string& method, const RolloutResult& result);

struct Panel {
  std::string title;
  double optimal = -1;  // mean optimal return of the panel's rows; <0: none
  double random = -1;   // analytic/measured random return; <0: none
  std::vector<Curve> curves;
};

struct Report {
  std::string experiment;           // "incontext", "prompt", ...
  std::string title;                // figure title
  std::string env;                  // environment family evaluated on
  std::string x_axis = "episodes";  // "episodes" or "env_steps"
  std::vector<std::string> notes;   // provenance, printed and saved
  std::vector<Panel> panels;
};

// Writes curves.csv, returns.csv and report.json into `dir` (created if
// missing). INTERNAL naming the path on an I/O error.
absl::Status WriteReport(const Report& report, const std::string& dir);

// The report as JSON text (what report.json holds).
std::string ReportJson(const Report& report);

// A fixed-width table: per panel and method, episodes, mean return over
// episodes 1-3, over the last 10 episodes (31-40 for 40 episodes), both as a
// percentage of the panel's optimal return, and the first episode reaching
// kReachFraction of optimal; then, where the panel has "ad" and a "source"
// curve, a line comparing the episodes (and env steps) each needs.
std::string SummaryTable(const Report& report);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_CURVES_H_
