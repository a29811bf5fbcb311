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
// uninterrupted learner would have opened there. Errors other than
// UNAVAILABLE / DEADLINE_EXCEEDED / ABORTED / RESOURCE_EXHAUSTED are final.
//
// Blocking: Next() blocks in the stream read until a batch arrives, also
// past its deadline; Cancel() (any thread) ends the read and any backoff.
// Used from one thread (the Prefetcher's) apart from Cancel().
#ifndef AD_SERVICES_LEARNER_STORE_WINDOW_SOURCE_H_
#define AD_SERVICES_LEARNER_STORE_WINDOW_SOURCE_H_

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

    absl::Status Validate() const;
  };

  static absl::StatusOr<std::unique_ptr<StoreWindowSource>> Create(
      const Options& options);

  absl::StatusOr<ad::learner::Windows> Next(absl::Time deadline) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void Cancel() override ABSL_LOCKS_EXCLUDED(mu_);

  // The request of the stream that starts after `batches_received`.
  ad::v1::SampleWindowsRequest StreamRequest(int64_t batches_received) const;

  // Converts and checks one message: INVALID_ARGUMENT naming the field.
  static absl::StatusOr<ad::learner::Windows> FromProto(
      const ad::v1::WindowBatch& batch, int expected_batch_size,
      int expected_window_len);

 private:
  explicit StoreWindowSource(const Options& options,
                             std::unique_ptr<store::StoreClient> client);

  const Options options_;
  const std::unique_ptr<store::StoreClient> client_;
  int64_t batches_received_ = 0;  // since request.first_batch
  int failures_ = 0;              // consecutive stream failures

  absl::Mutex mu_;
  std::unique_ptr<store::WindowStream> stream_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ad::services::learner

#endif  // AD_SERVICES_LEARNER_STORE_WINDOW_SOURCE_H_
