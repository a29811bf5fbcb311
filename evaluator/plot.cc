#include "evaluator/plot.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace ad::evaluator {
namespace {

// Single-quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

absl::Status PlotOptions::Validate() const {
  if (python.empty()) {
    return absl::InvalidArgumentError("python is empty, want a python3 path");
  }
  if (!x_axis.empty() && x_axis != "episodes" && x_axis != "env_steps") {
    return absl::InvalidArgumentError(
        absl::StrFormat("x_axis is '%s', want episodes or env_steps", x_axis));
  }
  return absl::OkStatus();
}

std::string DefaultPlotScript() {
  if (const char* env = std::getenv("AD_PLOT_SCRIPT"); env != nullptr) {
    return env;
  }
  return AD_EVALUATOR_SOURCE_DIR "/plot_curves.py";
}

namespace {

// Checks `options`, then runs `python script args...` (script:
// options.script, else `default_script`) after checking that the script
// exists and python imports matplotlib, and logs the `png` it wrote; `what`
// names the input in the errors.
absl::Status RunPlotScript(const PlotOptions& options,
                           const std::string& default_script,
                           const std::vector<std::string>& args,
                           const std::string& what, const std::string& png) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  const std::string& python = options.python;
  const std::string script =
      options.script.empty() ? default_script : options.script;
  if (!std::filesystem::exists(script)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "plot script %s not found (set --plot_script); %s", script, what));
  }
  const std::string check = absl::StrCat(
      ShellQuote(python), " -c 'import matplotlib, json' >/dev/null 2>&1");
  if (std::system(check.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s cannot import matplotlib (install python3-matplotlib or set "
        "--python); no PNG written, %s",
        python, what));
  }
  std::string command =
      absl::StrCat(ShellQuote(python), " ", ShellQuote(script));
  for (const std::string& arg : args) {
    absl::StrAppend(&command, " ", ShellQuote(arg));
  }
  const int status = std::system(command.c_str());
  if (status != 0) {
    return absl::InternalError(absl::StrFormat(
        "plot script failed (wait status %d): %s", status, command));
  }
  LOG(INFO) << "wrote " << png;
  return absl::OkStatus();
}

}  // namespace

absl::Status PlotReport(const PlotOptions& options,
                        const std::string& report_json,
                        const std::string& png) {
  std::vector<std::string> args = {report_json, png};
  if (!options.x_axis.empty()) {
    args.push_back("--x");
    args.push_back(options.x_axis);
  }
  return RunPlotScript(options, DefaultPlotScript(), args,
                       absl::StrCat("curves are in ", report_json), png);
}

std::string DefaultFramesScript() {
  if (const char* env = std::getenv("AD_FRAMES_SCRIPT"); env != nullptr) {
    return env;
  }
  return AD_EVALUATOR_SOURCE_DIR "/plot_frames.py";
}

absl::Status PlotFrames(const PlotOptions& options,
                        const std::string& frames_npy,
                        const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& cell_labels,
                        const std::string& png) {
  std::vector<std::string> args = {frames_npy, png, "--row_labels"};
  args.insert(args.end(), row_labels.begin(), row_labels.end());
  args.push_back("--cell_labels");
  args.insert(args.end(), cell_labels.begin(), cell_labels.end());
  return RunPlotScript(options, DefaultFramesScript(), args,
                       absl::StrCat("frames are in ", frames_npy), png);
}

}  // namespace ad::evaluator
