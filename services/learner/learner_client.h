// A typed client of ad.v1.LearnerService (services/learner/learner_service.h)
// for the programs that watch or fetch from a training run: the evaluator
// service's learner:latest, adctl, tests. Every call carries a deadline;
// all three calls are reads and retry UNAVAILABLE with the shared backoff
// (services/common/client.h), a GetCheckpoint stream from its start.
//
// Thread-safe: one client may be shared by many threads (the gRPC stub is).
#ifndef AD_SERVICES_LEARNER_LEARNER_CLIENT_H_
#define AD_SERVICES_LEARNER_LEARNER_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ad/v1/learner.grpc.pb.h"
#include "services/common/client.h"

namespace ad::services::learner {

class LearnerClient {
 public:
  // address, rpc_timeout (per attempt; for GetCheckpoint, the whole stream
  // of one attempt), backoff (retries of UNAVAILABLE) and channel; see
  // client.h.
  struct Options : UnaryClientOptions {
    Options() { address = "127.0.0.1:50053"; }
  };

  // Does not connect yet (gRPC connects on the first call).
  static absl::StatusOr<std::unique_ptr<LearnerClient>> Create(
      const Options& options);

  absl::StatusOr<ad::v1::LearnerStatusResponse> Status();
  // The checkpoints on the learner's disk, oldest first.
  absl::StatusOr<ad::v1::ListCheckpointsResponse> ListCheckpoints();
  // The bytes of checkpoint `step` (0: the latest), as
  // learner::LoadCheckpointFromBytes reads them.
  absl::StatusOr<std::string> GetCheckpoint(int64_t step);
  // GetCheckpoint written to `path` atomically (a temporary file renamed).
  absl::Status FetchCheckpoint(int64_t step, const std::string& path);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  explicit LearnerClient(const Options& options);
  // One call with retries; `call` runs one attempt with `context`.
  absl::Status Call(const char* method,
                    absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call);

  const Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ad::v1::LearnerService::Stub> stub_;
};

}  // namespace ad::services::learner

#endif  // AD_SERVICES_LEARNER_LEARNER_CLIENT_H_
