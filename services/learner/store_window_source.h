// The learner's WindowSource over the trajectory store: one long-lived
// StoreService.SampleWindows stream (services/store/store_client.h) whose
// WindowBatch messages become learner::Windows.
//
// Only the train split is ever requested (the filter's split is fixed to
// "train"; DataOptions::Validate rejects anything else), so the learner
// never receives a window of a held-out task.
//
// When the stream ends (store restart, deadline, network) the source opens
// a new one after a backoff, with a seed derived from (seed, batches
// received), so a learner resumed at step N asks for the same stream an
// uninterrupted learner would have opened there. Every error is retried
// that way, not only transient ones: a store that cannot serve the filter
// right now (no matching history yet, a bad history being deleted by an
// operator, a malformed batch) must not end the training run. Each error
// other than a routine end of stream is logged at WARNING and counted in
// ad_learner_window_source_errors_total{code}; only Cancel() ends Next()
// with an error.
//
// Blocking: Next() blocks in the stream read until a batch arrives, also
// past its deadline; Cancel() (any thread) ends the read and any backoff.
// Used from one thread (the Prefetcher's) apart from Cancel().
#ifndef AD_SERVICES_LEARNER_STORE_WINDOW_SOURCE_H_
#define AD_SERVICES_LEARNER_STORE_WINDOW_SOURCE_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ad/v1/store.pb.h"
#include "learner/config.h"
#include "learner/window_source.h"
#include "services/common/client.h"
#include "services/store/store_client.h"

namespace ad::services::learner {

class StoreWindowSource : public ad::learner::WindowSource {
 public:
  struct Options {
    ad::services::store::StoreClient::Options client;
    ad::learner::WindowRequest request;
    ad::learner::DataOptions data;
    // Life of one SampleWindows stream; a new one is opened after it.
    absl::Duration stream_timeout = absl::Hours(1);
    // Sleeps between reopened streams (initial, multiplier, max, jitter).
    BackoffOptions backoff;
    // Where ad_learner_window_source_errors_total is registered; borrowed,
    // must outlive the source. Null: errors are only logged and counted in
    // errors().
    prometheus::Registry* registry = nullptr;

    absl::Status Validate() const;
  };

  static absl::StatusOr<std::unique_ptr<StoreWindowSource>> Create(
      const Options& options);

  absl::StatusOr<ad::learner::Windows> Next(absl::Time deadline) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void Cancel() override ABSL_LOCKS_EXCLUDED(mu_);

  // Errors reported so far (streams that failed or sent a bad batch).
  int64_t errors() const { return errors_.load(); }

  // The request of the stream that starts after `batches_received`.
  ad::v1::SampleWindowsRequest StreamRequest(int64_t batches_received) const;

  // Converts and checks one message: INVALID_ARGUMENT naming the field.
  static absl::StatusOr<ad::learner::Windows> FromProto(
      const ad::v1::WindowBatch& batch, int expected_batch_size,
      int expected_window_len);

 private:
  explicit StoreWindowSource(const Options& options,
                             std::unique_ptr<store::StoreClient> client);
  // Logs and counts a failed stream or bad batch, then sleeps the backoff
  // (woken by Cancel()).
  void ReportAndBackOff(const absl::Status& status, bool routine)
      ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  const std::unique_ptr<store::StoreClient> client_;
  int64_t batches_received_ = 0;  // since request.first_batch
  int failures_ = 0;              // consecutive stream failures
  std::atomic<int64_t> errors_{0};
  prometheus::Family<prometheus::Counter>* error_family_ = nullptr;

  absl::Mutex mu_;
  std::unique_ptr<store::WindowStream> stream_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ad::services::learner

#endif  // AD_SERVICES_LEARNER_STORE_WINDOW_SOURCE_H_
