#include "services/common/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, host, "127.0.0.1",
          "Interface to bind for gRPC and /metrics");
ABSL_FLAG(int, port, -2,
          "gRPC port (0 picks a free one); default: the service's port "
          "(env 50051, store 50052, learner 50053, evaluator 50054)");
ABSL_FLAG(int, metrics_port, -2,
          "Prometheus /metrics port (0 picks a free one, -1 disables); "
          "default: the service's port (env 9101, store 9102, ...)");
ABSL_FLAG(absl::Duration, grace, absl::Seconds(5),
          "On SIGTERM/SIGINT, time running RPCs get to finish");
ABSL_FLAG(int, max_message_bytes, 64 << 20,
          "Largest gRPC message received or sent, in bytes");

namespace ad::services {

ServerOptions ServerOptionsFromFlags(const std::string& name, int default_port,
                                     int default_metrics_port) {
  ServerOptions options;
  options.name = name;
  options.host = absl::GetFlag(FLAGS_host);
  const int port = absl::GetFlag(FLAGS_port);
  options.port = port == -2 ? default_port : port;
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.metrics_port =
      metrics_port == -2 ? default_metrics_port : metrics_port;
  options.grace = absl::GetFlag(FLAGS_grace);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  return options;
}

}  // namespace ad::services
