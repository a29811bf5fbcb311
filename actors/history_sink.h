// Where recorded learning histories go: the seam between the actors (which
// produce transitions) and storage (a local file directory, or the trajectory
// store over gRPC).
//
// A history is one actor stream of one source algorithm on one task, from its
// first episode to its last. Its HistoryRecorder (actors/history_recorder.h)
// cuts it into chunks and hands them to a HistorySink in order: chunk 0, 1, 2,
// ... (`TransitionChunk::seq`), the last one with `final` set. The identity of
// the history travels with every chunk, so a sink never has to remember it
// (the store uses it with seq 0 only, as in ad.v1.AppendRequest).
//
// Threading: one sink is shared by every stream of an actor process. Append
// and Flush may be called concurrently from many threads; the chunks of one
// history always come from one thread, in seq order. Append may return before
// the chunk is durable (it may queue it); Flush is the durability barrier.
//
// Implementations: FileSink (actors/file_sink.h, one file per history, for
// tests and single-machine runs) and the store-backed sink in services/store.
#ifndef AD_ACTORS_HISTORY_SINK_H_
#define AD_ACTORS_HISTORY_SINK_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ad/v1/common.pb.h"
#include "ad/v1/store.pb.h"

namespace ad::actors {

// A run of consecutive transitions of one history.
struct TransitionChunk {
  uint64_t seq = 0;    // chunk sequence number within the history: 0, 1, ...
  uint64_t first = 0;  // index in the history of the chunk's first transition
  // The transitions, packed (transitions.obs_dim is set even when empty).
  ad::v1::TransitionBatch transitions;
  // Returns of the episodes that ended inside this chunk, in order (one per
  // done byte set to 1). Redundant with the rewards; carried so that sinks
  // can keep per-episode summaries without re-scanning.
  std::vector<float> episode_returns;

  // Transitions in the chunk (actions.size()).
  int64_t size() const { return transitions.actions_size(); }
};

// OK if `chunk` is well formed for `meta`: obs_dim matches the meta and the
// observations (exactly one of obs and obs_u8, ad.v1.TransitionBatch), every
// array has one entry per transition, dones are 0 or 1, actions lie in [0,
// meta.num_actions), and episode_returns has one entry per done. Otherwise
// INVALID_ARGUMENT naming the field. Also checks that the meta names a history
// (history_id, env, task_id, source non-empty).
absl::Status ValidateChunk(const ad::v1::HistoryMeta& meta,
                           const TransitionChunk& chunk);

// The store's append message for `chunk` of the history `meta`: history_id,
// seq, the chunk's transitions and `final`; chunk 0 also carries the
// identity fields of `meta` (its store-filled summary fields -- length,
// episodes, episode_returns, complete -- cleared). Used by every sink that
// writes AppendRequests: FileSink's records and the store sink's stream.
// Does not validate (ValidateChunk does).
ad::v1::AppendRequest MakeAppendRequest(const ad::v1::HistoryMeta& meta,
                                        const TransitionChunk& chunk,
                                        bool final);

class HistorySink {
 public:
  virtual ~HistorySink() = default;

  // Hands over chunk `chunk.seq` of history `meta.history_id`. `meta` carries
  // the identity fields (history_id, env, task_id, source, seed, stream,
  // split, obs_dim, num_actions); the summary fields filled by the store
  // (length, episodes, episode_returns, complete) are ignored. `final` marks
  // the history's last chunk, which may be empty. May queue the chunk and
  // return before it is durable. Errors: INVALID_ARGUMENT for a malformed
  // chunk or a seq out of order (nothing is written), FAILED_PRECONDITION
  // after the history was finalised, UNAVAILABLE / INTERNAL when the sink
  // cannot write. May block for back-pressure, for at most a sink-defined
  // deadline (DEADLINE_EXCEEDED).
  virtual absl::Status Append(const ad::v1::HistoryMeta& meta,
                              const TransitionChunk& chunk, bool final) = 0;

  // Blocks until every chunk appended before the call is durable (written
  // and synced for files, acknowledged by the store for the store sink), or
  // until `timeout` passes (DEADLINE_EXCEEDED). Returns the first write error
  // seen since the last Flush, if any.
  virtual absl::Status Flush(absl::Duration timeout) = 0;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_HISTORY_SINK_H_
