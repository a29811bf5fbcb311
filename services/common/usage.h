// The usage text of every binary's --help. absl's default --help lists only
// flags defined in a file named like the binary (ad-store.cc,
// ad-store_main.cc), so every binary here, whose flags live in main.cc and in
// shared files such as services/common/flags.cc, printed "No flags matched".
// SetProgramUsage makes --help and --helpshort list every flag defined in the
// project's sources; --helpfull adds Abseil's own (--flagfile, --fromenv...).
//
// Its own file, apart from flags.cc, so that a binary calling it does not
// link the shared server flags (ad-actor defines its own --metrics_port).
#ifndef AD_SERVICES_COMMON_USAGE_H_
#define AD_SERVICES_COMMON_USAGE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ad::services {

// Sets the usage message --help prints, the --help filter above, and shortens
// the flags' file names in the help to their repository paths. Every
// binary's main() calls it once, before absl::ParseCommandLine.
void SetProgramUsage(absl::string_view usage);

// The repository path of a source file ("services/store/main.cc") as the
// compiler named it (absolute, or relative to a build directory); `file`
// unchanged if it is not under one of the project's source folders.
std::string ProjectPath(absl::string_view file);

// True if `file` (as ProjectPath takes it) is one of the project's sources,
// not a dependency's.
bool IsProjectFlagFile(absl::string_view file);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_USAGE_H_
