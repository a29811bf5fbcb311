// Environments wherever they live: MakeEnv gives a BatchedEnv that is either
// in-process (location "local") or hosted by an ad-env-server (location
// "host:port"). Actors and the evaluator call MakeEnv and never see the
// difference: for the same seed and actions, both give the same trajectory.
//
// RemoteBatchedEnv is the client of one EnvService.Session stream. It owns
// the channel's stream and the request/response messages it reuses on every
// step (no per-step allocation once the arrays have grown). Every call
// blocks for one round trip to the server. Like every BatchedEnv, it is used
// from one thread at a time.
//
// Semantics next to an in-process env:
//  * The server resets the instances when the session opens; the first
//    Reset() returns those observations without a round trip, so Make +
//    Reset consume exactly what they would in-process. Later Reset() calls
//    go to the server.
//  * A request the server rejects (action out of range, ...) returns its
//    INVALID_ARGUMENT and the session goes on, unchanged.
//  * If the stream breaks (server gone, deadline passed), the call returns
//    UNAVAILABLE (or the stream's status) and so does every later call:
//    the session's state is lost with the server, so callers make a new env.
//  * ExpertActions is one round trip to the server's expert.
//
// Deadlines: opening (connect, retried on UNAVAILABLE with backoff) is bound
// by `open_timeout`; the stream as a whole by `session_timeout`; keepalive
// pings notice a dead server on an idle stream.
#ifndef AD_SERVICES_ENV_REMOTE_ENV_H_
#define AD_SERVICES_ENV_REMOTE_ENV_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ad/v1/env.grpc.pb.h"
#include "envs/env.h"
#include "services/common/client.h"

namespace ad::services {

struct RemoteEnvOptions {
  // Connecting and opening the session, retries on UNAVAILABLE included.
  absl::Duration open_timeout = absl::Seconds(30);
  // Deadline of the whole session stream.
  absl::Duration session_timeout = absl::Hours(24 * 7);
  ChannelOptions channel;

  absl::Status Validate() const;
};

class RemoteBatchedEnv final : public envs::BatchedEnv {
 public:
  // Opens a session of `num_envs` instances of `family` on the server at
  // `address`. Errors: the server's (INVALID_ARGUMENT for an unknown family
  // or task, RESOURCE_EXHAUSTED for its limits), or UNAVAILABLE /
  // DEADLINE_EXCEEDED if it cannot be reached within open_timeout.
  static absl::StatusOr<std::unique_ptr<RemoteBatchedEnv>> Open(
      const std::string& address, std::string_view family,
      absl::Span<const std::string> task_ids, int num_envs, uint64_t seed,
      const RemoteEnvOptions& options = {});

  // Ends the session (half-close, then waits for the server's status).
  ~RemoteBatchedEnv() override;

  const envs::SpaceSpec& space() const override { return space_; }
  int num_envs() const override { return num_envs_; }
  const std::string& task_id(int i) const override;

  absl::Status Reset(absl::Span<int32_t> obs) override;
  absl::Status Step(absl::Span<const int32_t> actions,
                    const envs::StepOutput& out) override;
  absl::Status ExpertActions(absl::Span<int32_t> actions) const override;

 private:
  RemoteBatchedEnv() = default;

  // Writes request_ and reads response_; an in-band error is returned as
  // its status, a broken stream as broken_ (and it stays broken).
  absl::Status RoundTrip() const;
  // Copies response_.batch().obs into `obs`, checking its size.
  absl::Status CopyObs(absl::Span<int32_t> obs) const;

  envs::SpaceSpec space_;
  int num_envs_ = 0;
  std::vector<std::string> task_ids_;  // one per instance

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ad::v1::EnvService::Stub> stub_;
  // Mutable: ExpertActions is const in BatchedEnv but needs a round trip.
  mutable std::unique_ptr<grpc::ClientContext> context_;
  mutable std::unique_ptr<
      grpc::ClientReaderWriter<ad::v1::EnvRequest, ad::v1::EnvResponse>>
      stream_;
  mutable ad::v1::EnvRequest request_;
  mutable ad::v1::EnvResponse response_;
  mutable absl::Status broken_;      // set once the stream has failed
  bool first_reset_pending_ = true;  // response_ holds the opening reset
};

// "local" (in-process, through envs/registry.h) or "host:port" (an
// ad-env-server). INVALID_ARGUMENT for an empty location.
absl::StatusOr<std::unique_ptr<envs::BatchedEnv>> MakeEnv(
    std::string_view location, std::string_view family,
    absl::Span<const std::string> task_ids, int num_envs, uint64_t seed,
    const RemoteEnvOptions& options = {});

}  // namespace ad::services

#endif  // AD_SERVICES_ENV_REMOTE_ENV_H_
