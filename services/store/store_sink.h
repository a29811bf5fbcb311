// StoreSink: the actors' HistorySink (actors/history_sink.h) backed by the
// trajectory store's Append stream. One sink serves every stream of an actor
// process: chunks of all histories are multiplexed, in Append order, over
// one bidirectional Append stream.
//
// Pipelining and acknowledgement: Append queues the chunk and returns;
// a connection thread writes queued chunks without waiting for acks, and a
// reader thread pops a chunk from the queue when the store acknowledges it
// (the store acks in order, after the chunk is in its WAL). Flush(timeout)
// waits until every chunk appended before it was acknowledged.
//
// Retries: when the stream breaks (store restarted or unreachable, RPC
// deadline, no ack within ack_timeout) the sink reconnects with exponential
// backoff and resends every unacknowledged chunk from the oldest; the store
// acknowledges chunks it already has as duplicates, so each chunk is stored
// exactly once. A chunk the store rejects (INVALID_ARGUMENT, NOT_FOUND,
// FAILED_PRECONDITION, ...) fails its history: its queued chunks are dropped,
// later Appends of that history return the error, and the next Flush
// returns it; other histories continue.
//
// Back-pressure: Append blocks while more than max_unacked_bytes are queued
// and unacknowledged, for at most append_timeout (DEADLINE_EXCEEDED).
//
// Threads: owns the connection thread (and one reader thread per stream);
// the destructor stops them, dropping unacknowledged chunks -- call Flush
// first. Append and Flush are thread-safe.
#ifndef AD_SERVICES_STORE_STORE_SINK_H_
#define AD_SERVICES_STORE_STORE_SINK_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "actors/history_sink.h"
#include "ad/v1/store.grpc.pb.h"
#include "services/common/client.h"

namespace ad::services::store {

class StoreSink : public ad::actors::HistorySink {
 public:
  struct Options {
    std::string address = "127.0.0.1:50052";
    ChannelOptions channel;
    // Longest an Append blocks on back-pressure.
    absl::Duration append_timeout = absl::Seconds(60);
    // Bytes of queued + unacknowledged chunks before Append blocks.
    size_t max_unacked_bytes = size_t{64} << 20;
    // A sent chunk unacknowledged this long means the stream is dead.
    absl::Duration ack_timeout = absl::Seconds(30);
    // Deadline of one Append stream; the sink opens a new one after it.
    absl::Duration stream_timeout = absl::Minutes(10);
    // Sleeps between reconnects (initial, multiplier, max_backoff, jitter;
    // the sink retries until Flush / Append time out, so max_attempts and
    // total are not used).
    BackoffOptions backoff;
    // Called for every acknowledgement, on the sink's reader thread; must
    // not call into the sink. For tests and metrics.
    std::function<void(const ad::v1::AppendAck&)> on_ack;

    absl::Status Validate() const;
  };

  struct Counters {
    uint64_t acked = 0;       // chunks acknowledged (duplicates included)
    uint64_t duplicates = 0;  // acknowledged as already stored
    uint64_t reconnects = 0;  // streams opened after the first
  };

  // Does not connect yet.
  static absl::StatusOr<std::unique_ptr<StoreSink>> Create(
      const Options& options);
  ~StoreSink() override;
  StoreSink(const StoreSink&) = delete;
  StoreSink& operator=(const StoreSink&) = delete;

  // Queues one chunk (see HistorySink). Checks the chunk locally with the
  // sinks' one rule, actors::ValidateChunk (INVALID_ARGUMENT); the store's
  // own checks fail the history asynchronously (reported by later Appends of
  // it and by Flush).
  absl::Status Append(const ad::v1::HistoryMeta& meta,
                      const ad::actors::TransitionChunk& chunk,
                      bool final) override ABSL_LOCKS_EXCLUDED(mu_);

  // Waits until every chunk appended before the call is acknowledged (or
  // dropped with its failed history). DEADLINE_EXCEEDED naming the last
  // stream error after `timeout`; otherwise the first rejection since the
  // last Flush, or OK.
  absl::Status Flush(absl::Duration timeout) override ABSL_LOCKS_EXCLUDED(mu_);

  Counters counters() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Pending {
    ad::v1::AppendRequest request;
    size_t bytes = 0;
    uint64_t ordinal = 0;  // position in Append order, from 0
  };

  explicit StoreSink(const Options& options);
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Runs one stream until it breaks; returns its status.
  absl::Status RunStream() ABSL_LOCKS_EXCLUDED(mu_);
  void OnAck(const ad::v1::AppendAck& ack) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops the rejected history's chunks after a non-retryable `status`.
  void FailFrontHistory(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  bool WriterShouldWake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ad::v1::StoreService::Stub> stub_;

  mutable absl::Mutex mu_;
  // Unacknowledged chunks in Append order; [0, sent_) are on the current
  // stream. Element references stay valid until popped.
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  size_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;  // chunks ever queued
  uint64_t resolved_ ABSL_GUARDED_BY(mu_) = 0;  // acked or dropped
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stream_broken_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_);  // last ack or send start
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Status last_stream_error_ ABSL_GUARDED_BY(mu_);
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);  // since the last Flush
  absl::flat_hash_map<std::string, absl::Status> failed_ ABSL_GUARDED_BY(mu_);
  Counters counters_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;
};

}  // namespace ad::services::store

#endif  // AD_SERVICES_STORE_STORE_SINK_H_
