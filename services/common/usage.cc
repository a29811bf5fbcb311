#include "services/common/usage.h"

#include <algorithm>
#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace ad::services {
namespace {

// The repository's top-level folders that hold C++ sources.
constexpr absl::string_view kSourceFolders[] = {
    "actors/",  "bench/",    "common/",  "envs/",  "evaluator/",
    "learner/", "services/", "storage/", "tests/",
};

}  // namespace

std::string ProjectPath(absl::string_view file) {
  // The earliest "<folder>/" that starts the path or follows a '/' is the
  // repository root's child (services/common/ matches "services/" first).
  size_t best = absl::string_view::npos;
  for (absl::string_view folder : kSourceFolders) {
    for (size_t at = file.find(folder); at != absl::string_view::npos;
         at = file.find(folder, at + 1)) {
      if (at == 0 || file[at - 1] == '/') {
        best = std::min(best, at);
        break;
      }
    }
  }
  // A dependency's sources (a vendored absl/...) stay as they are.
  if (best == absl::string_view::npos ||
      absl::StrContains(file.substr(0, best), "absl/")) {
    return std::string(file);
  }
  return std::string(file.substr(best));
}

bool IsProjectFlagFile(absl::string_view file) {
  const std::string path = ProjectPath(file);
  if (absl::StrContains(path, "absl/")) return false;
  return std::any_of(
      std::begin(kSourceFolders), std::end(kSourceFolders),
      [&](absl::string_view folder) { return absl::StartsWith(path, folder); });
}

void SetProgramUsage(absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_helpshort_flags = IsProjectFlagFile;
  config.contains_help_flags = IsProjectFlagFile;
  config.contains_helppackage_flags = IsProjectFlagFile;
  config.normalize_filename = ProjectPath;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace ad::services
