// The evaluator's memory of what each rollout row has done: per row, the last
// `capacity` transitions (observation, action, reward, done), across episode
// boundaries, plus the observation the row is in now.
//
// This is the "context queue C" of the paper's Algorithm 1 (line 13): the
// rollout loop (evaluator/rollout.h) owns one ContextBuffer for all rows of a
// batch, pushes one transition per row after every environment step, and
// hands policies read-only ContextBatch views of it. A prompt (partial
// demonstration, Fig. 5) is pushed the same way before the first step.
//
// Rows advance in lockstep: every Push appends exactly one transition to
// every row, so all rows hold the same number of transitions. Storage is one
// ring per row; the oldest transition is overwritten once a row is full.
// Not thread-safe; owned and used by one rollout thread.
#ifndef AD_EVALUATOR_CONTEXT_BUFFER_H_
#define AD_EVALUATOR_CONTEXT_BUFFER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace ad::evaluator {

class ContextBuffer;

// A read-only view of rows [first_row, first_row + rows) of a ContextBuffer.
// Cheap to copy; valid while the buffer is alive and unchanged.
class ContextBatch {
 public:
  ContextBatch(const ContextBuffer* buffer, int first_row, int rows)
      : buffer_(buffer), first_row_(first_row), rows_(rows) {}

  int rows() const { return rows_; }
  // Index of local row `r` among all rows of the rollout (for per-row state
  // such as random streams, which must not depend on how rows are batched).
  int global_row(int r) const { return first_row_ + r; }
  int obs_dim() const;
  int capacity() const;  // transitions, the context size c
  int length() const;    // transitions held now, <= capacity()
  // Pushes since construction or Clear(): lets a policy that caches work
  // across steps tell that exactly one transition arrived since its last call.
  int64_t pushes() const;

  // Transition k of local row r, k = 0 the oldest held .. length() - 1 the
  // newest: the observation the row saw, the action it took, the reward it
  // got, and whether that step ended its episode.
  absl::Span<const int32_t> obs(int r, int k) const;
  int32_t action(int r, int k) const;
  float reward(int r, int k) const;
  bool done(int r, int k) const;
  // The observation row r is in now, that its next action answers.
  absl::Span<const int32_t> current_obs(int r) const;

 private:
  const ContextBuffer* buffer_;
  int first_row_;
  int rows_;
};

class ContextBuffer {
 public:
  // Dies if rows < 1, capacity < 1 or obs_dim < 1 (programmer error: the
  // rollout validates its options first).
  ContextBuffer(int rows, int capacity, int obs_dim);

  int rows() const { return rows_; }
  int capacity() const { return capacity_; }
  int obs_dim() const { return obs_dim_; }
  int length() const { return length_; }
  int64_t pushes() const { return pushes_; }

  // Forgets every transition (the current observations stay).
  void Clear();

  // Appends one transition to every row: `obs` (rows * obs_dim) is what each
  // row saw before acting, then its action, reward and done flag (one each
  // per row). Drops each row's oldest transition when full.
  // INVALID_ARGUMENT naming the field if a span has the wrong size.
  absl::Status Push(absl::Span<const int32_t> obs,
                    absl::Span<const int32_t> actions,
                    absl::Span<const float> rewards,
                    absl::Span<const uint8_t> dones);

  // Sets every row's current observation (rows * obs_dim values).
  absl::Status SetCurrentObs(absl::Span<const int32_t> obs);

  // A view of `count` rows starting at `first`; dies if out of range.
  ContextBatch View(int first, int count) const;
  ContextBatch All() const { return View(0, rows_); }

 private:
  friend class ContextBatch;
  // Slot of transition k (0 = oldest) in every row's ring.
  int Slot(int k) const {
    int slot = next_ - length_ + k;
    return slot < 0 ? slot + capacity_ : slot;
  }

  int rows_;
  int capacity_;
  int obs_dim_;
  int length_ = 0;                    // transitions held per row
  int next_ = 0;                      // ring slot the next Push writes
  int64_t pushes_ = 0;                // Push calls since construction / Clear
  std::vector<int32_t> obs_;          // [rows][capacity][obs_dim]
  std::vector<int32_t> actions_;      // [rows][capacity]
  std::vector<float> rewards_;        // [rows][capacity]
  std::vector<uint8_t> dones_;        // [rows][capacity]
  std::vector<int32_t> current_obs_;  // [rows][obs_dim]
};

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_CONTEXT_BUFFER_H_
