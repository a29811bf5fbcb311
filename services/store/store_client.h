// A typed client of ad.v1.StoreService for tools and services (adctl, the
// learner's window source, the evaluator, tests). Every call carries a
// deadline; idempotent calls (everything but Checkpoint and DeleteHistory)
// retry UNAVAILABLE
// with bounded exponential backoff (services/common/client.h).
//
// Appends go through StoreSink (store_sink.h), which pipelines chunks and
// retries unacknowledged ones.
//
// Thread-safe: one client may be shared by many threads (the gRPC stub is).
// A WindowStream is used by one thread, except Cancel().
#ifndef AD_SERVICES_STORE_STORE_CLIENT_H_
#define AD_SERVICES_STORE_STORE_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ad/v1/store.grpc.pb.h"
#include "services/common/client.h"

namespace ad::services::store {

// One SampleWindows call: a server stream of WindowBatch messages.
class WindowStream {
 public:
  // Blocks for the next batch (within the stream's deadline); false when
  // the stream ended, after which Finish() tells why.
  bool Next(ad::v1::WindowBatch* batch);
  // The stream's final status (OK once num_batches were read). Call after
  // Next() returned false, or after Cancel().
  absl::Status Finish();
  // Ends the stream soon (Next() returns false). Thread-safe.
  void Cancel() { context_.TryCancel(); }

 private:
  friend class StoreClient;
  WindowStream() = default;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<ad::v1::WindowBatch>> reader_;
  bool finished_ = false;
  absl::Status status_;
};

class StoreClient {
 public:
  // address, rpc_timeout (per unary attempt), backoff (retries of
  // UNAVAILABLE, idempotent calls only) and channel; see client.h.
  struct Options : UnaryClientOptions {
    Options() { address = "127.0.0.1:50052"; }
  };

  // Does not connect yet (gRPC connects on the first call).
  static absl::StatusOr<std::unique_ptr<StoreClient>> Create(
      const Options& options);

  absl::StatusOr<ad::v1::ListTasksResponse> ListTasks(const std::string& env,
                                                      const std::string& split);
  absl::StatusOr<std::vector<ad::v1::HistoryMeta>> QueryTask(
      const std::string& env, const std::string& task_id);
  // Transitions [begin, end) of a history (end 0: to its end) and its meta.
  // Observations are always in transitions.obs: those the store sent as
  // obs_u8 (pixel families) are widened here (WidenObs).
  absl::StatusOr<ad::v1::GetHistoryResponse> GetHistory(
      const std::string& history_id, uint64_t begin, uint64_t end);
  // A history's meta (episode returns included), without transitions.
  absl::StatusOr<ad::v1::HistoryMeta> GetHistoryMeta(
      const std::string& history_id);
  absl::StatusOr<ad::v1::StatsResponse> Stats();
  // Not retried (a second attempt would find the directory existing).
  // Returns the directory the store wrote.
  absl::StatusOr<std::string> Checkpoint(const std::string& directory);

  // Deletes a history for good; returns its meta as it was. Not retried (a
  // second attempt would find nothing). `requested_by` and `reason` go to
  // the store's audit log.
  absl::StatusOr<ad::v1::HistoryMeta> DeleteHistory(
      const std::string& history_id, const std::string& requested_by,
      const std::string& reason);

  // Starts a SampleWindows stream whose whole life (the min-size wait
  // included) is bounded by `timeout`.
  std::unique_ptr<WindowStream> SampleWindows(
      const ad::v1::SampleWindowsRequest& request, absl::Duration timeout);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  ad::v1::StoreService::Stub& stub() { return *stub_; }

 private:
  explicit StoreClient(const Options& options);

  const Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ad::v1::StoreService::Stub> stub_;
};

// Replaces a received batch's obs_u8 with the same values in obs, so that
// callers see int32 observations whichever way they travelled.
// INVALID_ARGUMENT naming the field when both are set or obs_u8 does not
// hold actions_size() x obs_dim bytes.
absl::Status WidenObs(ad::v1::TransitionBatch* batch);

}  // namespace ad::services::store

#endif  // AD_SERVICES_STORE_STORE_CLIENT_H_
