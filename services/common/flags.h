// Command-line flags shared by every server binary, and their conversion to
// ServerOptions (flags fill Options in main() only):
//
//   --host           interface to bind (default 127.0.0.1)
//   --port           gRPC port (default: the service's port, e.g. env 50051)
//   --metrics_port   /metrics port (default: the service's, e.g. env 9101);
//                    -1 disables the exposer
//   --grace          shutdown grace period, e.g. 5s
//   --max_message_bytes
//
// A binary calls absl::ParseCommandLine, then ServerOptionsFromFlags with its
// own default ports from DESIGN.md.
#ifndef AD_SERVICES_COMMON_FLAGS_H_
#define AD_SERVICES_COMMON_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"
#include "services/common/server.h"

ABSL_DECLARE_FLAG(std::string, host);
ABSL_DECLARE_FLAG(int, port);
ABSL_DECLARE_FLAG(int, metrics_port);
ABSL_DECLARE_FLAG(absl::Duration, grace);
ABSL_DECLARE_FLAG(int, max_message_bytes);

namespace ad::services {

// ServerOptions from the flags above; --port / --metrics_port left at their
// "unset" value (-2) take `default_port` / `default_metrics_port`. Validate()
// the result.
ServerOptions ServerOptionsFromFlags(const std::string& name, int default_port,
                                     int default_metrics_port);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_FLAGS_H_
