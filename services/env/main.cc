// ad-env-server: hosts the environment families of envs/ over gRPC
// (EnvService, see services/env/env_service.h), with health, reflection,
// /metrics and clean SIGTERM shutdown from services/common.
//
//   ad-env-server --port=50051 --metrics_port=9101 --max_sessions=64
#include <memory>

#include "absl/flags/flag.h"
#include "glog/logging.h"
#include "services/common/binary_init.h"
#include "services/common/flags.h"
#include "services/common/server.h"
#include "services/env/env_service.h"

ABSL_FLAG(int, max_sessions, 64,
          "Open sessions (stream and unary) this server accepts");
ABSL_FLAG(int, max_instances, 4096, "Environment instances per session");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(300),
          "Unary-API sessions untouched for this long are closed");
ABSL_FLAG(int, num_cqs, 0,
          "gRPC completion queues of the sync server (0: gRPC's default)");

int main(int argc, char** argv) {
  ad::services::InitServiceBinary(
      argc, argv, "Serves batched environments (envs/) over gRPC: EnvService.",
      ad::services::SecurityRole::kServer);

  ad::services::ServerOptions server_options =
      ad::services::ServerOptionsFromFlags("ad-env-server",
                                           /*default_port=*/50051,
                                           /*default_metrics_port=*/9101);
  server_options.num_cqs = absl::GetFlag(FLAGS_num_cqs);
  ad::services::EnvServiceImpl::Options env_options;
  env_options.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  env_options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  env_options.limits.max_instances = absl::GetFlag(FLAGS_max_instances);
  env_options.limits.max_message_bytes = server_options.max_message_bytes;
  for (const absl::Status& status :
       {server_options.Validate(), env_options.Validate()}) {
    if (!status.ok()) {
      LOG(ERROR) << status;
      return 2;
    }
  }

  auto registry = std::make_shared<prometheus::Registry>();
  ad::services::EnvServiceImpl service(env_options, *registry);
  const absl::Status status =
      ad::services::RunServer(server_options, {&service}, registry);
  if (!status.ok()) {
    LOG(ERROR) << status;
    return 1;
  }
  return 0;
}
