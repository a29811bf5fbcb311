// EnvService (proto/ad/v1/env.proto): the gRPC face of ad-env-server. Hosts
// any environment family of envs/ in sessions, one EnvSession each.
//
//  * Session (bidi stream): the handler thread owns its EnvSession for the
//    stream's life and frees it when the stream ends, whether the client
//    half-closes, cancels or disappears. Requests rejected inside a session
//    are answered in-band (EnvResponse.error) and the stream goes on.
//  * Reset / Step / ExpertActions / Close (unary): sessions live in a table
//    keyed by a random id, each with its own lock; a reaper thread owned by
//    this object closes sessions idle for longer than `idle_timeout`.
//
// Both kinds count against `max_sessions`; the limit, like every other limit,
// is answered with RESOURCE_EXHAUSTED. Metrics (in the registry given):
//   ad_env_sessions_active          open sessions, both kinds
//   ad_env_steps_total              environment steps (instances x batches)
//   ad_env_rpc_latency_seconds      per unary RPC and per stream message
//                                   (method="Session.step", ...)
//   ad_env_rpc_requests_total       by method and code
//
// Thread-safe (gRPC calls handlers from many threads). The destructor stops
// and joins the reaper; the server must be shut down first.
#ifndef AD_SERVICES_ENV_ENV_SERVICE_H_
#define AD_SERVICES_ENV_ENV_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ad/v1/env.grpc.pb.h"
#include "services/common/metrics.h"
#include "services/env/env_session.h"

namespace ad::services {

class EnvServiceImpl final : public ad::v1::EnvService::Service {
 public:
  struct Options {
    SessionLimits limits;   // per-session limits
    int max_sessions = 64;  // open sessions per server, both kinds
    // Unary sessions untouched for this long are closed.
    absl::Duration idle_timeout = absl::Seconds(300);

    absl::Status Validate() const;
  };

  // Dies if options are invalid (main() validates them first). `registry`
  // is borrowed and must outlive this.
  EnvServiceImpl(const Options& options, prometheus::Registry& registry);
  ~EnvServiceImpl() override;

  grpc::Status Session(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<ad::v1::EnvResponse, ad::v1::EnvRequest>* stream)
      override;
  grpc::Status Reset(grpc::ServerContext* context,
                     const ad::v1::ResetRequest* request,
                     ad::v1::ResetResponse* response) override;
  grpc::Status Step(grpc::ServerContext* context,
                    const ad::v1::StepRequest* request,
                    ad::v1::StepResponse* response) override;
  grpc::Status ExpertActions(grpc::ServerContext* context,
                             const ad::v1::ExpertRequest* request,
                             ad::v1::ExpertResponse* response) override;
  grpc::Status Close(grpc::ServerContext* context,
                     const ad::v1::CloseRequest* request,
                     ad::v1::CloseResponse* response) override;

  // Open sessions, both kinds.
  int active_sessions() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A session of the unary API.
  struct UnarySession {
    absl::Mutex mu;
    std::unique_ptr<EnvSession> env ABSL_GUARDED_BY(mu);
    absl::Time last_used ABSL_GUARDED_BY(mu);
  };

  // Takes one of max_sessions, or RESOURCE_EXHAUSTED.
  absl::Status AcquireSlot() ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseSlot() ABSL_LOCKS_EXCLUDED(mu_);
  // The unary session called `id`, marked used now; NOT_FOUND otherwise.
  absl::StatusOr<std::shared_ptr<UnarySession>> FindUnary(const std::string& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `fn` on the env of the unary session called `id` (FindUnary),
  // holding the session's lock; NOT_FOUND when it was closed meanwhile.
  absl::Status WithUnarySession(const std::string& id,
                                absl::FunctionRef<absl::Status(EnvSession&)> fn)
      ABSL_LOCKS_EXCLUDED(mu_);
  void ReapIdle() ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  RpcMetrics rpc_metrics_;
  prometheus::Gauge& sessions_active_;
  prometheus::Counter& steps_total_;
  prometheus::Histogram& stream_step_latency_;

  mutable absl::Mutex mu_;
  int active_sessions_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<UnarySession>> unary_
      ABSL_GUARDED_BY(mu_);
  std::mt19937_64 id_rng_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace ad::services

#endif  // AD_SERVICES_ENV_ENV_SERVICE_H_
