#include "services/adctl/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, task, "", "Task id, e.g. darkroom/goal=3,7");
ABSL_FLAG(std::string, env, "", "Environment family (empty: any)");
ABSL_FLAG(std::string, format, "csv", "Export format: csv or npy");
ABSL_FLAG(std::string, out, "",
          "Output: a file for csv (empty: stdout), a directory for npy");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "Deadline of each RPC");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5),
          "Longest wait for the first connection to a server; a refused "
          "connection fails at once");
