// The ad-evaluator service: EvaluatorService.Evaluate runs one experiment of
// evaluator/experiments.h and streams its progress and curves; a watcher
// (optional) evaluates each new learner checkpoint on the held-out tasks and
// exports the latest in-context returns as Prometheus gauges.
//
// Threads: gRPC's sync handler threads call Evaluate; the Watcher owns one
// thread, joined in its destructor. Evaluations are CPU-bound and share
// LibTorch's process-wide thread pool, so at most one runs at a time: an
// Evaluate that finds one running gets RESOURCE_EXHAUSTED at once (it never
// queues), and the watcher waits its turn (it holds the same mutex).
#ifndef AD_SERVICES_EVALUATOR_EVALUATOR_SERVICE_H_
#define AD_SERVICES_EVALUATOR_EVALUATOR_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ad/v1/evaluator.grpc.pb.h"
#include "evaluator/experiments.h"
#include "services/common/metrics.h"

namespace ad::services {

// Where checkpoints come from: a learner checkpoint directory on a shared
// disk, or the learner service (ListCheckpoints / GetCheckpoint, cached as
// files under cache_dir).
struct CheckpointSourceOptions {
  std::string checkpoint_dir;  // learner's --checkpoint_dir
  std::string learner;         // ad-learner address
  std::string cache_dir;       // where fetched checkpoints are written
  absl::Duration rpc_timeout = absl::Seconds(60);

  // At most one of checkpoint_dir / learner; INVALID_ARGUMENT otherwise.
  absl::Status Validate() const;
  bool enabled() const { return !checkpoint_dir.empty() || !learner.empty(); }
};

struct LatestCheckpoint {
  int64_t step = 0;
  std::string path;  // a local file
};

// The newest checkpoint (nullopt if there is none yet). Blocks on disk or
// one RPC round (with deadlines) and, for a new remote one, its download.
absl::StatusOr<std::optional<LatestCheckpoint>> FindLatestCheckpoint(
    const CheckpointSourceOptions& options);

class EvaluatorServiceImpl final : public ad::v1::EvaluatorService::Service {
 public:
  struct Options {
    std::string output_dir = "out/evaluator";  // per-request outputs
    evaluator::PlotOptions plot;
    int threads = 2;                      // LibTorch threads per evaluation
    CheckpointSourceOptions checkpoints;  // for "learner:latest"

    absl::Status Validate() const;
  };

  // `registry` must outlive the service.
  EvaluatorServiceImpl(const Options& options, prometheus::Registry& registry);

  grpc::Status Evaluate(
      grpc::ServerContext* context, const ad::v1::EvaluateRequest* request,
      grpc::ServerWriter<ad::v1::EvalProgress>* writer) override
      ABSL_LOCKS_EXCLUDED(run_mu_);

  // Converts a request's spec, filling defaults and the output directory.
  // INVALID_ARGUMENT naming the field (as `spec.<field>`).
  absl::StatusOr<evaluator::EvalSpec> SpecFromProto(
      const ad::v1::EvalSpec& proto, int64_t* checkpoint_step);

  // Runs `spec` holding the evaluation lock (waits for it). For the watcher.
  absl::StatusOr<evaluator::Report> RunExclusive(
      const evaluator::EvalSpec& spec) ABSL_LOCKS_EXCLUDED(run_mu_);

 private:
  Options options_;
  RpcMetrics rpc_metrics_;
  prometheus::Counter& episodes_total_;
  std::atomic<uint64_t> requests_{0};
  // Held for the whole of an evaluation.
  absl::Mutex run_mu_;
};

// Evaluates each new checkpoint on the held-out tasks and exports
//   ad_evaluator_latest_checkpoint_step
//   ad_evaluator_latest_return_first_episodes  (mean over episodes 1-3)
//   ad_evaluator_latest_return_last_episodes   (mean over the last 10)
//   ad_evaluator_latest_return_fraction_of_optimal (last 10 / optimal)
//   ad_evaluator_watch_evaluations_total
class Watcher {
 public:
  struct Options {
    CheckpointSourceOptions checkpoints;  // must be enabled
    evaluator::EvalSpec spec;  // the incontext spec to run per checkpoint
    absl::Duration poll = absl::Seconds(30);  // between checks

    absl::Status Validate() const;
  };

  // Starts the thread. `service` and `registry` are borrowed and must
  // outlive the watcher.
  Watcher(const Options& options, EvaluatorServiceImpl* service,
          prometheus::Registry& registry);
  ~Watcher();  // stops and joins the thread (waits for a running evaluation)
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status EvaluateLatest();

  Options options_;
  EvaluatorServiceImpl* service_;
  prometheus::Gauge& step_gauge_;
  prometheus::Gauge& first_gauge_;
  prometheus::Gauge& last_gauge_;
  prometheus::Gauge& fraction_gauge_;
  prometheus::Counter& evaluations_;
  int64_t last_step_ = -1;  // newest checkpoint evaluated (Loop's thread)

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ad::services

#endif  // AD_SERVICES_EVALUATOR_EVALUATOR_SERVICE_H_
