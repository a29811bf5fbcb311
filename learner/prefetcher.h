// Keeps training batches ready ahead of the training step.
//
// A Prefetcher owns a WindowSource and one background thread that calls
// source->Next(), validates and converts each batch to tensors
// (MakeTrainingBatch) and queues up to `capacity` of them. The training
// thread calls Next(), which only waits when the queue is empty -- the wait
// the learner reports as its sample-wait fraction.
//
// A final source error (anything but DEADLINE_EXCEEDED) stops the thread;
// Next() returns it once the queued batches are drained. The destructor
// cancels the source and joins the thread. Next() is for one consumer
// thread; stats() may be read from any thread.
#ifndef AD_LEARNER_PREFETCHER_H_
#define AD_LEARNER_PREFETCHER_H_

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "learner/batch.h"
#include "learner/config.h"
#include "learner/window_source.h"

namespace ad::learner {

class Prefetcher {
 public:
  struct Options {
    int capacity = 4;                    // batches kept ready
    ModelOptions model;                  // for validation
    torch::Device device = torch::kCPU;  // where batches are created
    // How long one source->Next() may block before the thread re-checks
    // for shutdown.
    absl::Duration poll = absl::Milliseconds(200);

    absl::Status Validate() const;
  };

  struct Stats {
    int64_t batches_ready = 0;     // queued now
    int64_t batches_produced = 0;  // since start
    int64_t source_timeouts = 0;   // Next() calls that hit `poll`
  };

  // Starts the background thread. Dies if options are invalid (call
  // Options::Validate() first).
  Prefetcher(std::unique_ptr<WindowSource> source, Options options);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next batch; blocks until one is queued, the source failed (its
  // error), or `deadline` passed (DEADLINE_EXCEEDED).
  absl::StatusOr<TrainingBatch> Next(absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);

  Stats stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const std::unique_ptr<WindowSource> source_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::deque<TrainingBatch> queue_ ABSL_GUARDED_BY(mu_);
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);  // non-OK: source done
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace ad::learner

#endif  // AD_LEARNER_PREFETCHER_H_
