// Turns a written report into a PNG by running evaluator/plot_curves.py
// (matplotlib, Agg backend) with a configurable python3.
//
// Called by the experiments after WriteReport. Blocks while the script runs
// (a second or two). The script is found at PlotOptions::script, or next to
// the sources (AD_SOURCE_DIR/evaluator/plot_curves.py, compiled in).
#ifndef AD_EVALUATOR_PLOT_H_
#define AD_EVALUATOR_PLOT_H_

#include <string>

#include "absl/status/status.h"

namespace ad::evaluator {

struct PlotOptions {
  std::string python = "/usr/bin/python3";  // interpreter with matplotlib
  std::string script;  // plot_curves.py; empty: the copy in the source tree
  std::string x_axis;  // "episodes" / "env_steps"; empty: the report's own

  absl::Status Validate() const;
};

// The script path used when PlotOptions::script is empty.
std::string DefaultPlotScript();

// Runs `python script report_json png`. FAILED_PRECONDITION with a clear
// message when python or the script is missing or matplotlib cannot be
// imported; INTERNAL with the script's exit status otherwise.
absl::Status PlotReport(const PlotOptions& options,
                        const std::string& report_json, const std::string& png);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_PLOT_H_
