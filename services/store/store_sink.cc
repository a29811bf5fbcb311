#include "services/store/store_sink.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/common/status_convert.h"

namespace ad::services::store {
namespace {

// Errors after which resending the same chunks may succeed.
bool IsRetryable(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status StoreSink::Options::Validate() const {
  if (address.empty()) return absl::InvalidArgumentError("address is empty");
  AD_RETURN_IF_ERROR(channel.Validate());
  AD_RETURN_IF_ERROR(backoff.Validate());
  for (auto [name, d] : {std::pair{"append_timeout", append_timeout},
                         std::pair{"ack_timeout", ack_timeout},
                         std::pair{"stream_timeout", stream_timeout}}) {
    if (d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(name, " must be > 0"));
    }
  }
  if (max_unacked_bytes == 0) {
    return absl::InvalidArgumentError("max_unacked_bytes must be > 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StoreSink>> StoreSink::Create(
    const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<StoreSink>(new StoreSink(options));
}

StoreSink::StoreSink(const Options& options)
    : options_(options),
      channel_(MakeChannel(options.address, options.channel)),
      stub_(ad::v1::StoreService::NewStub(channel_)) {
  thread_ = std::thread([this] { Run(); });
}

StoreSink::~StoreSink() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  thread_.join();
}

absl::Status StoreSink::Append(const ad::v1::HistoryMeta& meta,
                               const ad::actors::TransitionChunk& chunk,
                               bool final) {
  AD_RETURN_IF_ERROR(ad::actors::ValidateChunk(meta, chunk));
  {
    absl::MutexLock lock(&mu_);
    if (auto it = failed_.find(meta.history_id()); it != failed_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("history '", meta.history_id(),
                       "' failed earlier: ", it->second.ToString()));
    }
  }
  Pending pending;
  pending.request = ad::actors::MakeAppendRequest(meta, chunk, final);
  pending.bytes = pending.request.ByteSizeLong();

  absl::MutexLock lock(&mu_);
  auto has_room = [this, &pending]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || queue_.empty() ||
           queued_bytes_ + pending.bytes <= options_.max_unacked_bytes;
  };
  // Woken by OnAck / FailFrontHistory (queue shrinks) or the destructor.
  if (!mu_.AwaitWithTimeout(absl::Condition(&has_room),
                            options_.append_timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "store sink: ", queued_bytes_, " bytes unacknowledged for ",
        absl::FormatDuration(options_.append_timeout),
        "; last stream error: ", last_stream_error_.ToString()));
  }
  if (stopping_) return absl::FailedPreconditionError("store sink is closing");
  queued_bytes_ += pending.bytes;
  pending.ordinal = appended_++;
  queue_.push_back(std::move(pending));
  return absl::OkStatus();
}

absl::Status StoreSink::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const uint64_t target = appended_;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || queue_.empty() || queue_.front().ordinal >= target;
  };
  // Woken by OnAck and FailFrontHistory (the queue's front moves).
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "store sink: ", queue_.size(), " chunks unacknowledged after ",
        absl::FormatDuration(timeout),
        "; last stream error: ", last_stream_error_.ToString()));
  }
  absl::Status status = first_error_;
  first_error_ = absl::OkStatus();
  if (status.ok() && !queue_.empty() && queue_.front().ordinal < target) {
    return absl::FailedPreconditionError("store sink is closing");
  }
  return status;
}

StoreSink::Counters StoreSink::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

bool StoreSink::WriterShouldWake() const {
  return stopping_ || stream_broken_ || sent_ < queue_.size();
}

void StoreSink::Run() {
  int failures = 0;  // consecutive broken streams without progress
  bool first = true;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Woken by Append (a chunk to send) or the destructor.
      mu_.Await(absl::Condition(
          +[](StoreSink* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return s->stopping_ || !s->queue_.empty();
          },
          this));
      if (stopping_) return;
      if (!first) ++counters_.reconnects;
      first = false;
    }
    uint64_t resolved_before;
    {
      absl::MutexLock lock(&mu_);
      resolved_before = resolved_;
    }
    const absl::Status status = RunStream();
    bool progress;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      progress = resolved_ > resolved_before;
      if (!status.ok()) last_stream_error_ = status;
    }
    if (status.ok() || !IsRetryable(status.code())) {
      if (!status.ok()) FailFrontHistory(status);
      failures = 0;
      continue;
    }
    failures = progress ? 1 : failures + 1;
    const absl::Duration sleep = BackoffDelay(options_.backoff, failures - 1);
    VLOG(1) << "store sink: stream broke (" << status << "); retrying in "
            << sleep;
    absl::MutexLock lock(&mu_);
    // Woken by the destructor, else sleeps out the backoff.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), sleep);
  }
}

absl::Status StoreSink::RunStream() {
  grpc::ClientContext context;
  SetDeadline(context, options_.stream_timeout);
  auto stream = stub_->Append(&context);
  {
    absl::MutexLock lock(&mu_);
    sent_ = 0;
    stream_broken_ = false;
    context_ = &context;
    last_progress_ = absl::Now();
    if (stopping_) context.TryCancel();
  }
  std::thread reader([this, &stream] {
    ad::v1::AppendAck ack;
    while (stream->Read(&ack)) OnAck(ack);
    absl::MutexLock lock(&mu_);
    stream_broken_ = true;
  });
  bool ack_overdue = false;
  const absl::Duration poll =
      std::min(options_.ack_timeout / 4, absl::Seconds(1));
  while (true) {
    const ad::v1::AppendRequest* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      // Woken by Append (new chunk), the reader (stream ended) or the
      // destructor; the timeout lets us check for an overdue ack.
      mu_.AwaitWithTimeout(absl::Condition(this, &StoreSink::WriterShouldWake),
                           poll);
      if (stopping_ || stream_broken_) break;
      if (sent_ < queue_.size()) {
        if (sent_ == 0) last_progress_ = absl::Now();
        next = &queue_[sent_].request;
        ++sent_;
      } else if (sent_ > 0 &&
                 absl::Now() - last_progress_ > options_.ack_timeout) {
        ack_overdue = true;
        break;
      }
    }
    if (next != nullptr && !stream->Write(*next)) break;
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || ack_overdue) context.TryCancel();
  }
  stream->WritesDone();
  reader.join();
  absl::Status status = FromGrpcStatus(stream->Finish());
  {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
    sent_ = 0;
  }
  if (ack_overdue) {
    return absl::UnavailableError(
        absl::StrCat("no acknowledgement from ", options_.address, " for ",
                     absl::FormatDuration(options_.ack_timeout)));
  }
  return status;
}

void StoreSink::OnAck(const ad::v1::AppendAck& ack) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty() || sent_ == 0 ||
        queue_.front().request.history_id() != ack.history_id() ||
        queue_.front().request.seq() != ack.seq()) {
      LOG(ERROR) << "store sink: unexpected ack for " << ack.history_id()
                 << " seq " << ack.seq() << "; reconnecting";
      if (context_ != nullptr) context_->TryCancel();
      return;
    }
    queued_bytes_ -= queue_.front().bytes;
    queue_.pop_front();
    --sent_;
    ++resolved_;
    ++counters_.acked;
    if (ack.duplicate()) ++counters_.duplicates;
    last_progress_ = absl::Now();
  }
  if (options_.on_ack) options_.on_ack(ack);
}

void StoreSink::FailFrontHistory(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (queue_.empty()) return;
  const std::string id = queue_.front().request.history_id();
  const absl::Status error(
      status.code(),
      absl::StrCat("history '", id, "' seq ", queue_.front().request.seq(),
                   " rejected: ", status.message()));
  LOG(WARNING) << "store sink: " << error;
  failed_[id] = error;
  if (first_error_.ok()) first_error_ = error;
  auto from = std::remove_if(
      queue_.begin(), queue_.end(),
      [&id](const Pending& p) { return p.request.history_id() == id; });
  for (auto it = from; it != queue_.end(); ++it) {
    queued_bytes_ -= it->bytes;
    ++resolved_;
  }
  queue_.erase(from, queue_.end());
}

}  // namespace ad::services::store
