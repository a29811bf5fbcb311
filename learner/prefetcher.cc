#include "learner/prefetcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace ad::learner {

absl::Status Prefetcher::Options::Validate() const {
  if (capacity < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefetch capacity = ", capacity, ": must be >= 1"));
  }
  if (poll <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("prefetch poll: must be > 0");
  }
  return model.Validate();
}

Prefetcher::Prefetcher(std::unique_ptr<WindowSource> source, Options options)
    : source_(std::move(source)), options_(std::move(options)) {
  absl::Status valid = options_.Validate();
  CHECK(valid.ok()) << valid;
  CHECK(source_ != nullptr);
  thread_ = std::thread([this] { Run(); });
}

Prefetcher::~Prefetcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  source_->Cancel();
  thread_.join();
}

void Prefetcher::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Woken by Next() taking a batch, or by the destructor.
      auto room_or_stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || static_cast<int>(queue_.size()) < options_.capacity;
      };
      mu_.Await(absl::Condition(&room_or_stop));
      if (stop_) return;
    }
    absl::StatusOr<Windows> windows =
        source_->Next(absl::Now() + options_.poll);
    if (absl::IsDeadlineExceeded(windows.status())) {
      absl::MutexLock lock(&mu_);
      ++stats_.source_timeouts;
      continue;
    }
    absl::StatusOr<TrainingBatch> batch =
        windows.ok()
            ? MakeTrainingBatch(*windows, options_.model, options_.device)
            : absl::StatusOr<TrainingBatch>(windows.status());
    absl::MutexLock lock(&mu_);
    if (!batch.ok()) {
      if (!stop_) LOG(ERROR) << "window source failed: " << batch.status();
      final_status_ = batch.status();
      return;
    }
    queue_.push_back(*std::move(batch));
    ++stats_.batches_produced;
  }
}

absl::StatusOr<TrainingBatch> Prefetcher::Next(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  // Woken by Run() queueing a batch or failing.
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || !final_status_.ok();
  };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::DeadlineExceededError(
        "no training batch arrived before the deadline");
  }
  if (queue_.empty()) return final_status_;
  TrainingBatch batch = std::move(queue_.front());
  queue_.pop_front();
  return batch;
}

Prefetcher::Stats Prefetcher::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  stats.batches_ready = static_cast<int64_t>(queue_.size());
  return stats;
}

}  // namespace ad::learner
