// Flags shared by several adctl groups (defined once, in flags.cc).
#ifndef AD_SERVICES_ADCTL_FLAGS_H_
#define AD_SERVICES_ADCTL_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::string, task);        // task id, e.g. darkroom/goal=3,7
ABSL_DECLARE_FLAG(std::string, env);         // environment family filter
ABSL_DECLARE_FLAG(std::string, format);      // output format of exports
ABSL_DECLARE_FLAG(std::string, out);         // output file or directory
ABSL_DECLARE_FLAG(absl::Duration, timeout);  // per-RPC deadline
// Longest wait for the first connection to a server.
ABSL_DECLARE_FLAG(absl::Duration, connect_timeout);

#endif  // AD_SERVICES_ADCTL_FLAGS_H_
