#include "services/learner/store_window_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/obs_bytes.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace ad::services::learner {
namespace {

using ad::learner::Windows;

// A stream ending for an everyday reason (its life ran out, the store
// restarted): reopened after a backoff without counting an error.
bool Routine(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

}  // namespace

absl::Status StoreWindowSource::Options::Validate() const {
  AD_RETURN_IF_ERROR(client.Validate());
  AD_RETURN_IF_ERROR(request.Validate());
  AD_RETURN_IF_ERROR(data.Validate());
  AD_RETURN_IF_ERROR(backoff.Validate());
  if (stream_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stream_timeout: must be > 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StoreWindowSource>> StoreWindowSource::Create(
    const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  // Windows are sampled as training consumes them, a prefetch ahead, not
  // megabytes ahead in gRPC's buffers (services/common/client.h).
  store::StoreClient::Options client_options = options.client;
  client_options.channel.bdp_probe = false;
  AD_ASSIGN_OR_RETURN(std::unique_ptr<store::StoreClient> client,
                      store::StoreClient::Create(client_options));
  return std::unique_ptr<StoreWindowSource>(
      new StoreWindowSource(options, std::move(client)));
}

StoreWindowSource::StoreWindowSource(const Options& options,
                                     std::unique_ptr<store::StoreClient> client)
    : options_(options), client_(std::move(client)) {
  if (options_.registry != nullptr) {
    error_family_ = &prometheus::BuildCounter()
                         .Name("ad_learner_window_source_errors_total")
                         .Help(
                             "SampleWindows streams that failed or sent a "
                             "malformed batch; each is retried")
                         .Register(*options_.registry);
  }
}

void StoreWindowSource::ReportAndBackOff(const absl::Status& status,
                                         bool routine) {
  const double seconds =
      absl::ToDoubleSeconds(BackoffDelay(options_.backoff, failures_));
  ++failures_;
  if (routine) {
    LOG(WARNING) << "SampleWindows stream ended (" << status
                 << "); reopening in " << seconds << " s";
  } else {
    errors_.fetch_add(1);
    if (error_family_ != nullptr) {
      error_family_->Add({{"code", absl::StatusCodeToString(status.code())}})
          .Increment();
    }
    LOG(WARNING) << "window source error " << errors_.load()
                 << " (training goes on; retrying in " << seconds
                 << " s): " << status;
  }
  absl::MutexLock lock(&mu_);
  // Woken by Cancel() or the backoff passing.
  mu_.AwaitWithTimeout(absl::Condition(&cancelled_), absl::Seconds(seconds));
}

ad::v1::SampleWindowsRequest StoreWindowSource::StreamRequest(
    int64_t batches_received) const {
  ad::v1::SampleWindowsRequest r;
  ad::v1::WindowFilter* filter = r.mutable_filter();
  filter->set_env(options_.data.env);
  filter->set_split("train");  // never a held-out task
  filter->set_source(options_.data.source);
  r.set_window_len(options_.request.window_len);
  r.set_batch_size(options_.request.batch_size);
  r.set_num_batches(0);  // until cancelled
  const uint64_t index =
      static_cast<uint64_t>(options_.request.first_batch + batches_received);
  r.set_seed(HashSeed(options_.request.seed ^ HashSeed(index)));
  r.set_episode_stride(options_.data.episode_stride);
  r.set_discovery_episodes(options_.data.discovery_episodes);
  r.set_random_phase(options_.data.random_phase);
  r.set_min_transitions(options_.data.min_transitions);
  return r;
}

absl::StatusOr<Windows> StoreWindowSource::FromProto(
    const ad::v1::WindowBatch& batch, int expected_batch_size,
    int expected_window_len) {
  if (static_cast<int>(batch.batch_size()) != expected_batch_size ||
      static_cast<int>(batch.window_len()) != expected_window_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WindowBatch is ", batch.batch_size(), " x ", batch.window_len(),
        "; requested ", expected_batch_size, " x ", expected_window_len));
  }
  const ad::v1::TransitionBatch& t = batch.transitions();
  Windows w;
  w.batch_size = expected_batch_size;
  w.window_len = expected_window_len;
  w.obs_dim = static_cast<int>(t.obs_dim());
  // Pixel families' windows arrive as obs_u8 (one byte per component).
  AD_RETURN_IF_ERROR(CheckObsFields(
      "WindowBatch.transitions", t.obs_size(), t.obs_u8().size(),
      uint64_t{t.obs_dim()} * static_cast<uint64_t>(t.actions_size())));
  if (t.obs_u8().empty()) {
    w.obs.assign(t.obs().begin(), t.obs().end());
  } else {
    w.obs.resize(t.obs_u8().size());
    ObsFromBytes(t.obs_u8(), absl::MakeSpan(w.obs));
  }
  w.actions.assign(t.actions().begin(), t.actions().end());
  w.rewards.assign(t.rewards().begin(), t.rewards().end());
  w.dones.assign(t.dones().begin(), t.dones().end());
  w.history_ids.assign(batch.history_ids().begin(), batch.history_ids().end());
  w.starts.assign(batch.starts().begin(), batch.starts().end());
  AD_RETURN_IF_ERROR(w.ValidateShape());
  return w;
}

// Reads block past the deadline by design (see the header).
absl::StatusOr<Windows> StoreWindowSource::Next(absl::Time /*deadline*/) {
  while (true) {
    store::WindowStream* stream = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return absl::CancelledError("window source cancelled");
      if (stream_ == nullptr) {
        stream_ = client_->SampleWindows(StreamRequest(batches_received_),
                                         options_.stream_timeout);
      }
      stream = stream_.get();
    }
    // Only this thread replaces or resets stream_, so `stream` stays valid
    // while it reads; Cancel() only calls stream->Cancel().
    ad::v1::WindowBatch message;
    if (stream->Next(&message)) {
      absl::StatusOr<Windows> windows = FromProto(
          message, options_.request.batch_size, options_.request.window_len);
      if (windows.ok()) {
        failures_ = 0;
        ++batches_received_;
        return windows;
      }
      // A malformed batch: drop this stream and open a new one.
      stream->Cancel();
      while (stream->Next(&message)) {
      }
      stream->Finish().IgnoreError();
      {
        absl::MutexLock lock(&mu_);
        stream_.reset();
        if (cancelled_) return absl::CancelledError("window source cancelled");
      }
      ReportAndBackOff(
          absl::Status(windows.status().code(),
                       absl::StrCat("SampleWindows sent a bad batch: ",
                                    windows.status().message())),
          /*routine=*/false);
      continue;
    }
    absl::Status status = stream->Finish();
    {
      absl::MutexLock lock(&mu_);
      stream_.reset();
      if (cancelled_) return absl::CancelledError("window source cancelled");
    }
    if (status.ok()) status = absl::UnavailableError("stream ended");
    ReportAndBackOff(
        absl::Status(status.code(),
                     absl::StrCat("SampleWindows: ", status.message())),
        Routine(status));
  }
}

void StoreWindowSource::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (stream_ != nullptr) stream_->Cancel();
}

}  // namespace ad::services::learner
