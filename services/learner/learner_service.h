// LearnerService (proto/ad/v1/learner.proto): the training run's status and
// its checkpoints, for adctl, dashboards and remote evaluators.
//
//   Status           the latest step's loss, accuracy, rates, device.
//   ListCheckpoints  the checkpoints on disk, oldest first.
//   GetCheckpoint    one checkpoint file streamed in chunks (step 0: the
//                    latest); the bytes load with
//                    ad::learner::LoadCheckpointFromBytes.
//
// The training thread reports each step (OnStep) and checkpoint
// (OnCheckpoint); the service keeps a snapshot for Status and updates the
// Prometheus metrics ad_learner_{step_seconds, loss, action_accuracy,
// learning_rate, tokens_per_second, sample_wait_fraction, step,
// checkpoints_written_total}. Handlers run on gRPC threads; everything is
// thread-safe. GetCheckpoint keeps the file open while streaming, so a
// checkpoint pruned meanwhile is still sent whole.
#ifndef AD_SERVICES_LEARNER_LEARNER_SERVICE_H_
#define AD_SERVICES_LEARNER_LEARNER_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ad/v1/learner.grpc.pb.h"
#include "learner/checkpoint.h"
#include "learner/trainer.h"
#include "services/common/metrics.h"

namespace ad::services::learner {

class LearnerServiceImpl final : public ad::v1::LearnerService::Service {
 public:
  struct Options {
    std::string checkpoint_dir;  // where the trainer writes checkpoints
    int keep = 3;                // as the trainer's CheckpointDir
    std::string device = "cpu";  // reported by Status
    std::string preset;          // reported with each checkpoint
    int chunk_bytes = 1 << 20;   // GetCheckpoint message payload

    absl::Status Validate() const;
  };

  // `registry` is borrowed and must outlive the service. Dies on invalid
  // options (call Validate() first).
  LearnerServiceImpl(const Options& options, prometheus::Registry* registry);

  // Called by the training thread.
  void OnStep(const ad::learner::LoopStats& stats) ABSL_LOCKS_EXCLUDED(mu_);
  void OnCheckpoint(int64_t step) ABSL_LOCKS_EXCLUDED(mu_);
  // The step the learner starts from (0, or the resumed checkpoint's).
  void SetStartingPoint(int64_t step, int64_t total_steps,
                        int64_t latest_checkpoint_step)
      ABSL_LOCKS_EXCLUDED(mu_);

  grpc::Status Status(grpc::ServerContext* context,
                      const ad::v1::LearnerStatusRequest* request,
                      ad::v1::LearnerStatusResponse* response) override
      ABSL_LOCKS_EXCLUDED(mu_);
  grpc::Status ListCheckpoints(
      grpc::ServerContext* context,
      const ad::v1::ListCheckpointsRequest* request,
      ad::v1::ListCheckpointsResponse* response) override;
  grpc::Status GetCheckpoint(
      grpc::ServerContext* context, const ad::v1::GetCheckpointRequest* request,
      grpc::ServerWriter<ad::v1::CheckpointChunk>* writer) override;

 private:
  const Options options_;
  ad::learner::CheckpointDir dir_;
  RpcMetrics rpc_metrics_;
  prometheus::Histogram& step_seconds_;
  prometheus::Gauge& loss_;
  prometheus::Gauge& accuracy_;
  prometheus::Gauge& learning_rate_;
  prometheus::Gauge& tokens_per_second_;
  prometheus::Gauge& sample_wait_fraction_;
  prometheus::Gauge& step_;
  prometheus::Counter& checkpoints_written_;

  absl::Mutex mu_;
  ad::v1::LearnerStatusResponse status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ad::services::learner

#endif  // AD_SERVICES_LEARNER_LEARNER_SERVICE_H_
