#include "services/common/binary_init.h"

#include "absl/flags/parse.h"
#include "glog/logging.h"
#include "services/common/security_flags.h"
#include "services/common/usage.h"

namespace ad::services {

std::vector<char*> InitServiceBinary(int argc, char** argv,
                                     absl::string_view usage,
                                     SecurityRole role) {
  SetProgramUsage(usage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  InstallSecurityFromFlagsOrExit(role);
  return positional;
}

}  // namespace ad::services
