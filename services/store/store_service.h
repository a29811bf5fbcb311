// The ad.v1.StoreService handlers: the gRPC face of storage::TrajectoryStore
// and storage::WindowSampler. Runs inside ad-store (main.cc) and in tests.
//
//   Append         bidi stream: each AppendRequest chunk is stored (one
//                  atomic WAL write) before its AppendAck is sent, so an ack
//                  means durable; a retried seq is acked with duplicate=true.
//                  The first bad chunk ends the stream with its status
//                  (INVALID_ARGUMENT / NOT_FOUND / ...); chunks acked before
//                  it stay stored, nothing of it is written.
//   SampleWindows  server stream of WindowBatch, after waiting (within the
//                  RPC deadline) for min_transitions.
//   ListTasks, QueryTask, GetHistory, Stats, Checkpoint: unary.
//   DeleteHistory  unary; removes a history for good and writes an audit
//                  line (who asked, from which peer, why, what was removed)
//                  to the log at WARNING.
//
// Limits (Options) bound message sizes and batch shapes; exceeding one is
// INVALID_ARGUMENT naming the field and the limit. Error messages echo at
// most a short prefix of any input (common/text_escape.h) and are capped at
// 1 KiB, far below gRPC's metadata limit, so a client sending a huge id
// gets NOT_FOUND / INVALID_ARGUMENT, not RESOURCE_EXHAUSTED.
//
// Metrics (registry borrowed): ad_store_appended_transitions_total,
// ad_store_appended_chunks_total, ad_store_duplicate_chunks_total,
// ad_store_sampled_windows_total, ad_store_deleted_histories_total,
// ad_store_db_bytes, ad_store_histories,
// ad_store_transitions, and ad_store_rpc_latency_seconds{method} (per RPC,
// plus "Append.chunk" per chunk and "SampleWindows.batch" per batch).
//
// Thread-safe: gRPC calls the handlers from its thread pool. Owns a thread
// that refreshes the size gauges; the destructor joins it. The store is
// borrowed and must outlive the service.
#ifndef AD_SERVICES_STORE_STORE_SERVICE_H_
#define AD_SERVICES_STORE_STORE_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ad/v1/store.grpc.pb.h"
#include "services/common/metrics.h"
#include "storage/trajectory_store.h"

namespace ad::services::store {

class StoreServiceImpl final : public ad::v1::StoreService::Service {
 public:
  struct Options {
    // Largest message sent (WindowBatch, GetHistoryResponse), in bytes.
    int max_message_bytes = 64 << 20;
    uint32_t max_batch_size = 4096;   // windows per WindowBatch
    uint32_t max_window_len = 16384;  // transitions per window
    // Checkpoint requests name a relative directory under this one.
    std::string checkpoint_root;
    // How often the size gauges (ad_store_db_bytes, ...) are refreshed.
    absl::Duration gauge_interval = absl::Seconds(5);

    absl::Status Validate() const;
  };

  // `store` and `registry` are borrowed and must outlive the service.
  StoreServiceImpl(const Options& options, storage::TrajectoryStore* store,
                   prometheus::Registry& registry);
  ~StoreServiceImpl() override;

  grpc::Status Append(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<ad::v1::AppendAck, ad::v1::AppendRequest>*
          stream) override;
  grpc::Status SampleWindows(
      grpc::ServerContext* context, const ad::v1::SampleWindowsRequest* request,
      grpc::ServerWriter<ad::v1::WindowBatch>* writer) override;
  grpc::Status ListTasks(grpc::ServerContext* context,
                         const ad::v1::ListTasksRequest* request,
                         ad::v1::ListTasksResponse* response) override;
  grpc::Status QueryTask(grpc::ServerContext* context,
                         const ad::v1::QueryTaskRequest* request,
                         ad::v1::QueryTaskResponse* response) override;
  grpc::Status GetHistory(grpc::ServerContext* context,
                          const ad::v1::GetHistoryRequest* request,
                          ad::v1::GetHistoryResponse* response) override;
  grpc::Status Stats(grpc::ServerContext* context,
                     const ad::v1::StatsRequest* request,
                     ad::v1::StatsResponse* response) override;
  grpc::Status Checkpoint(grpc::ServerContext* context,
                          const ad::v1::CheckpointRequest* request,
                          ad::v1::CheckpointResponse* response) override;
  grpc::Status DeleteHistory(grpc::ServerContext* context,
                             const ad::v1::DeleteHistoryRequest* request,
                             ad::v1::DeleteHistoryResponse* response) override;

 private:
  void RefreshGauges();
  void GaugeLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Serves one SampleWindows call; the handler wraps it with metrics.
  absl::Status Sample(grpc::ServerContext* context,
                      const ad::v1::SampleWindowsRequest& request,
                      grpc::ServerWriter<ad::v1::WindowBatch>* writer);

  const Options options_;
  storage::TrajectoryStore* store_;
  RpcMetrics rpc_metrics_;
  prometheus::Counter& appended_transitions_;
  prometheus::Counter& appended_chunks_;
  prometheus::Counter& duplicate_chunks_;
  prometheus::Counter& sampled_windows_;
  prometheus::Counter& histories_deleted_;
  prometheus::Gauge& db_bytes_;
  prometheus::Gauge& histories_;
  prometheus::Gauge& transitions_;
  prometheus::Histogram& chunk_latency_;
  prometheus::Histogram& batch_latency_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread gauge_thread_;
};

}  // namespace ad::services::store

#endif  // AD_SERVICES_STORE_STORE_SERVICE_H_
