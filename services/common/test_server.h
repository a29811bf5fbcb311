// A service served by Server (server.h) in the calling process on a free
// loopback port, with no /metrics port: the fixture the services' unit
// tests start their service behind. The Server owns nothing else and is
// shut down by its destructor (zero grace) if the test does not.
#ifndef AD_SERVICES_COMMON_TEST_SERVER_H_
#define AD_SERVICES_COMMON_TEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/server.h"

namespace ad::services {

// `service` (borrowed; it must outlive the server) on 127.0.0.1 at a free
// port; `name` names it in the logs.
inline absl::StatusOr<std::unique_ptr<Server>> StartTestServer(
    const std::string& name, grpc::Service* service) {
  ServerOptions options;
  options.name = name;
  options.port = 0;
  options.metrics_port = -1;
  return Server::Start(options, {service}, nullptr);
}

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_TEST_SERVER_H_
