// HistoryRecorder: buffers the transitions of one actor stream and hands them
// to a HistorySink in chunks (every `chunk_transitions` transitions, or
// sooner once the chunk's observations reach `chunk_obs_bytes`, and a last
// chunk with final=true when the history ends). Both cuts depend only on the
// history, so a resent history is chunked the same way.
//
// One recorder per stream, owned and used by one thread (the task runner that
// steps the stream's environment). It borrows the sink, which must outlive
// it. It also keeps the per-episode returns of the whole history, which the
// runner reads for metrics and tests read for learning curves.
//
// Observations of a family whose space says obs_bytes (pixels, envs/env.h)
// are packed one byte per component into the chunk's obs_u8, as they travel
// to the store; the others go to obs as int32.
#ifndef AD_ACTORS_HISTORY_RECORDER_H_
#define AD_ACTORS_HISTORY_RECORDER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "actors/history_sink.h"

namespace ad::actors {

class HistoryRecorder {
 public:
  struct Options {
    int64_t chunk_transitions = 4096;  // transitions per non-final chunk
    // Also cut a chunk once its observations take this many bytes (obs_u8
    // bytes, or 4 per int32 value): 4096 Watermaze frames would be 85 MB,
    // over gRPC's 64 MB message limit; 1 MiB is 51 frames, about one
    // episode. Small pixel chunks matter to the learner: the store decodes
    // whole chunks to cut a window, so with 8 MiB (404-frame) chunks a
    // 150-frame window of every 2nd episode decoded ~3-5x the frames it
    // used and ad-store took a full core feeding a 1.3 steps/s learner.
    // Darkroom chunks (32 KB) never reach it.
    int64_t chunk_obs_bytes = int64_t{1} << 20;
    absl::Status Validate() const;
  };

  // `meta` names the history (see HistorySink::Append). Dies if `sink` is
  // null or the options are invalid (callers validate them first).
  HistoryRecorder(ad::v1::HistoryMeta meta, HistorySink* sink, Options options);

  // Records transition t: the stream saw `obs` (meta.obs_dim values), took
  // `action`, received `reward`; `done` if the step ended the episode. Sends
  // a chunk when the buffer is full. FAILED_PRECONDITION after Finish;
  // INVALID_ARGUMENT for a wrong obs size, or a value outside [0, 256) when
  // observations travel as bytes.
  absl::Status Record(absl::Span<const int32_t> obs, int32_t action,
                      float reward, bool done);

  // Sends what is buffered. With complete=true the chunk is marked final
  // (the history is whole); with complete=false (an interrupted run) it is
  // sent as an ordinary chunk and the history stays open in the sink.
  // Further Records fail either way.
  absl::Status Finish(bool complete);

  const ad::v1::HistoryMeta& meta() const { return meta_; }
  // Whether chunks carry observations in obs_u8 (see above).
  bool obs_bytes() const { return obs_bytes_; }
  int64_t transitions() const { return transitions_; }
  // Returns of the completed episodes, in order.
  const std::vector<float>& episode_returns() const { return returns_; }
  // Return accumulated so far in the episode in progress.
  double current_return() const { return current_return_; }

 private:
  absl::Status SendChunk(bool final);
  void StartChunk();

  ad::v1::HistoryMeta meta_;
  HistorySink* sink_;  // not owned
  Options options_;
  bool obs_bytes_;  // the family of meta.env packs observations as bytes
  TransitionChunk chunk_;
  uint64_t next_seq_ = 0;
  int64_t transitions_ = 0;
  std::vector<float> returns_;
  double current_return_ = 0;
  bool finished_ = false;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_HISTORY_RECORDER_H_
