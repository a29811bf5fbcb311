// Where the learner's training windows come from.
//
// A WindowSource hands out batches of across-episodic windows: batch_size
// windows of window_len consecutive transitions each, cut from learning
// histories of TRAIN-split tasks only. Implementations: the gRPC client of
// the trajectory store (services/learner/store_window_source.h) and an
// in-process source over histories held in memory (in_process_source.h, for
// tests and benchmarks). The Prefetcher (prefetcher.h) calls Next() on its
// own thread and turns the windows into tensors, so the training step never
// waits on a source directly.
//
// Determinism: a source built with the same seed and first_batch over the
// same data yields the same batches, so a learner resumed at step N asks for
// batches from N on and sees the data an uninterrupted run would have seen.
#ifndef AD_LEARNER_WINDOW_SOURCE_H_
#define AD_LEARNER_WINDOW_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ad::learner {

// batch_size windows of window_len transitions, row-major [batch][time]:
// transition (b, t) is obs[(b*T + t)*obs_dim ...], actions[b*T + t], ...
// Transition t = (o_t, a_t, r_t, done_t): the agent saw o_t, took a_t, got
// r_t; done_t = 1 if that step ended the episode.
struct Windows {
  int batch_size = 0;
  int window_len = 0;  // transitions, not tokens
  int obs_dim = 0;
  std::vector<int32_t> obs;
  std::vector<int32_t> actions;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
  std::vector<std::string> history_ids;  // per window (may be empty)
  std::vector<uint64_t> starts;          // per window, index in its history

  // INVALID_ARGUMENT naming the field if the array sizes disagree with the
  // shape.
  absl::Status ValidateShape() const;
};

// What every source is asked for.
struct WindowRequest {
  int window_len = 80;  // transitions
  int batch_size = 128;
  uint64_t seed = 1;
  int64_t first_batch = 0;  // index of the first batch (= resumed step)

  absl::Status Validate() const;
};

class WindowSource {
 public:
  virtual ~WindowSource() = default;

  // The next batch. Blocks until it is ready or `deadline` passes
  // (DEADLINE_EXCEEDED, retry later). Any other error is final for this
  // source. Called from one thread at a time.
  virtual absl::StatusOr<Windows> Next(absl::Time deadline) = 0;

  // Makes a blocked or future Next() return CANCELLED soon. Thread-safe; may
  // be called from any thread, any number of times.
  virtual void Cancel() {}
};

}  // namespace ad::learner

#endif  // AD_LEARNER_WINDOW_SOURCE_H_
