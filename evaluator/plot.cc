#include "evaluator/plot.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

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

absl::Status PlotReport(const PlotOptions& options,
                        const std::string& report_json,
                        const std::string& png) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  const std::string script =
      options.script.empty() ? DefaultPlotScript() : options.script;
  if (!std::filesystem::exists(script)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "plot script %s not found (set --plot_script); curves are in %s",
        script, report_json));
  }
  const std::string check =
      absl::StrCat(ShellQuote(options.python),
                   " -c 'import matplotlib, json' >/dev/null 2>&1");
  if (std::system(check.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s cannot import matplotlib (install python3-matplotlib or set "
        "--python); no PNG written, curves are in %s",
        options.python, report_json));
  }
  std::string command =
      absl::StrCat(ShellQuote(options.python), " ", ShellQuote(script), " ",
                   ShellQuote(report_json), " ", ShellQuote(png));
  if (!options.x_axis.empty())
    absl::StrAppend(&command, " --x ", options.x_axis);
  const int status = std::system(command.c_str());
  if (status != 0) {
    return absl::InternalError(absl::StrFormat(
        "plot script failed (wait status %d): %s", status, command));
  }
  LOG(INFO) << "wrote " << png;
  return absl::OkStatus();
}

}  // namespace ad::evaluator
