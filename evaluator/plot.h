// Turns a written report into a PNG by running evaluator/plot_curves.py
// (matplotlib, Agg backend) with a configurable python3; and a grid of RGB
// frames (an environment's pixel observations) into a PNG the same way, with
// evaluator/plot_frames.py.
//
// Called by the experiments after WriteReport, and by `adctl env frames`.
// Blocks while the script runs (a second or two). The scripts are found at
// PlotOptions::script, or next to the sources
// (AD_SOURCE_DIR/evaluator/plot_*.py, compiled in).
#ifndef AD_EVALUATOR_PLOT_H_
#define AD_EVALUATOR_PLOT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ad::evaluator {

struct PlotOptions {
  std::string python = "/usr/bin/python3";  // interpreter with matplotlib
  std::string script;  // the plot script; empty: the copy in the source tree
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

// The script path PlotFrames uses when PlotOptions::script is empty.
std::string DefaultFramesScript();

// Draws a grid of RGB frames into `png` by running `python script
// frames_npy png --row_labels ... --cell_labels ...`. `frames_npy` is a NumPy
// uint8 array [rows, cols, height, width, 3]; `row_labels` has one caption
// per row (or none), `cell_labels` one per frame, row-major (or none).
// options.x_axis is ignored. Errors as PlotReport's.
absl::Status PlotFrames(const PlotOptions& options,
                        const std::string& frames_npy,
                        const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& cell_labels,
                        const std::string& png);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_PLOT_H_
