// The opening every service binary's main() shares: its --help usage, the
// command line parsed, glog writing to stderr, and the TLS / bearer-token
// flags installed for its role. Called once, first thing in main(); it
// exits the process (code 2) on bad security flags, as
// InstallSecurityFromFlagsOrExit does.
#ifndef AD_SERVICES_COMMON_BINARY_INIT_H_
#define AD_SERVICES_COMMON_BINARY_INIT_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "services/common/security.h"

namespace ad::services {

// SetProgramUsage(usage), absl::ParseCommandLine(argc, argv), glog to
// stderr (InitGoogleLogging), then InstallSecurityFromFlagsOrExit(role).
// Returns ParseCommandLine's positional arguments (argv[0] first).
std::vector<char*> InitServiceBinary(int argc, char** argv,
                                     absl::string_view usage,
                                     SecurityRole role);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_BINARY_INIT_H_
