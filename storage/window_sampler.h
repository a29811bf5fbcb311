// Samples training windows for the learner: `window_len` consecutive
// transitions of one history, packed [batch][time] so that a batch becomes
// tensors with no per-step work.
//
// Distribution: uniform over every valid window start of every history that
// matches the filter (a history of length n holds n - window_len + 1
// starts), so long histories are sampled in proportion to their length. A
// window never crosses a history boundary.
//
// Filter: env, task-id set, source, split ("train" by default, so held-out
// tasks never reach the learner: naming a task of another split is an
// error), complete histories only.
//
// Episode subsampling (`episode_stride` k > 1): a history is first reduced
// to its complete episodes 0, k, 2k, ... (whole episodes; the trailing
// unfinished episode is dropped), and windows are drawn over the
// concatenation of the kept episodes, as in the paper's single-stream
// experiment. `starts` then reports the original index of a window's first
// transition.
//
// Discovery anchoring (`discovery_episodes` m > 0, with k > 1): plain
// subsampling drops the episode in which a source first found a reward
// (its "discovery") from most histories, so a window shows behaviour that
// improved for no reason visible in it. With m > 0, a history whose first
// rewarded episode (positive return) is d keeps every k-th episode before
// d - m + 1, then every one of the m episodes d - m + 1 .. d, then d + k,
// d + 2k, ... (the stride restarts at the discovery). A history with no
// rewarded episode is subsampled as without m.
//
// Random phase (`random_phase`, with k > 1): subsampling from episode 0
// alone uses one episode in k of every history; a long history at a large
// stride then contributes a handful of episodes, always the same ones. With
// random_phase, every history is also seen as its k phases: episodes p,
// p + k, p + 2k, ... for each p in [0, k) (before a discovery, with m > 0;
// the stride still restarts there), and windows are drawn uniformly over
// the valid starts of all of them. Every window still shows every k-th
// episode of one history, in order; only which episodes varies.
//
// The sampler keeps a view of the matching histories (index, length,
// kept-episode segments) and refreshes it when the store changed and
// `refresh_interval` passed, so growing histories are picked up while
// sampling. Windows are copied through the store's decoded-chunk cache.
//
// Deterministic: the same seed over the same stored data gives the same
// windows. One sampler is used by one thread at a time (not thread-safe);
// the store it borrows must outlive it. WaitUntilReady blocks (with a
// deadline); Next does not wait for data.
#ifndef AD_STORAGE_WINDOW_SAMPLER_H_
#define AD_STORAGE_WINDOW_SAMPLER_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/trajectory_store.h"
#include "storage/transitions.h"

namespace ad::storage {

struct WindowFilter {
  std::string env;                    // empty: any env
  std::vector<std::string> task_ids;  // empty: every task of the split
  std::string source;                 // empty: any source
  std::string split = kTrainSplit;    // "train" or "test"
  bool complete_only = false;         // only histories sent in full

  absl::Status Validate() const;
};

// `batch_size` windows of `window_len` transitions, row-major [batch][time].
struct WindowBatch {
  uint32_t batch_size = 0;
  uint32_t window_len = 0;               // transitions per window
  Transitions transitions;               // batch_size * window_len transitions
  std::vector<std::string> history_ids;  // per window
  std::vector<uint64_t> starts;  // per window: first transition's index in
                                 // its history (original numbering)
};

// The episodes (indices, ascending) that subsampling keeps of a history with
// `episodes` completed episodes whose first rewarded one is
// `first_rewarded` (-1: none), as described above, starting at episode
// `phase` (taken modulo the stride; it shifts only the episodes before a
// discovery).
std::vector<size_t> KeptEpisodes(size_t episodes, uint32_t stride,
                                 uint32_t discovery_episodes,
                                 int64_t first_rewarded, uint32_t phase = 0);

class WindowSampler {
 public:
  static constexpr uint32_t kMaxWindowLen = 1 << 16;
  static constexpr uint32_t kMaxBatchSize = 1 << 16;
  static constexpr uint32_t kMaxDiscoveryEpisodes = 1 << 16;

  struct Options {
    WindowFilter filter;
    uint32_t window_len = 80;   // transitions, not tokens; >= 1
    uint32_t batch_size = 128;  // windows per batch; >= 1
    uint64_t seed = 0;
    // Index of the first batch Next() returns. Batch i draws from a random
    // stream derived from (seed, i) alone, so resuming at batch N repeats
    // what an uninterrupted sampler would have drawn (same stored data).
    uint64_t first_batch = 0;
    uint32_t episode_stride = 1;  // keep every k-th episode; 0 or 1: all
    // Episodes kept whole up to each history's first reward (see above);
    // 0: off. At most kMaxDiscoveryEpisodes.
    uint32_t discovery_episodes = 0;
    // Every phase of the stride, not only episode 0's (see above).
    bool random_phase = false;
    // Longest time a view of growing histories is reused.
    absl::Duration refresh_interval = absl::Milliseconds(200);

    absl::Status Validate() const;
  };

  // INVALID_ARGUMENT for bad options. `store` is borrowed.
  static absl::StatusOr<std::unique_ptr<WindowSampler>> Create(
      const TrajectoryStore* store, const Options& options);

  // Waits until the matching histories hold at least `min_transitions`
  // (after subsampling) and at least one valid window. It rescans the store
  // only when that can have become true: when histories were created,
  // completed or deleted, or the store's appended transitions grew by the
  // shortfall (TrajectoryStore::WaitForProgress), not after every append.
  // DEADLINE_EXCEEDED at `deadline`, CANCELLED when
  // `cancelled()` turns true (polled every 100 ms). With min_transitions ==
  // 0 it does not wait: NOT_FOUND if a listed task is unknown or no history
  // matches, INVALID_ARGUMENT if window_len exceeds every matching history.
  // Always INVALID_ARGUMENT if a listed task belongs to another split or the
  // matches disagree on obs_dim.
  absl::Status WaitUntilReady(uint64_t min_transitions, absl::Time deadline,
                              absl::FunctionRef<bool()> cancelled);

  // Fills `batch` (reusing its buffers) with the next batch_size windows
  // (batch number next_batch(), which then advances). A batch that hits a
  // history deleted meanwhile is redrawn from a refreshed view.
  // The errors of WaitUntilReady(0, ...) when nothing can be sampled.
  absl::Status Next(WindowBatch* batch);

  uint64_t next_batch() const { return next_batch_; }
  uint32_t obs_dim() const { return obs_dim_; }
  uint64_t matching_transitions() const { return matching_transitions_; }
  uint64_t valid_starts() const {
    return cumulative_.empty() ? 0 : cumulative_.back();
  }
  // Views built so far (each one a scan of the store's index).
  uint64_t rescans() const { return rescans_; }

 private:
  struct Segment {       // one kept episode
    uint64_t begin;      // first transition, original numbering
    uint64_t length;     // transitions
    uint64_t sub_begin;  // first transition in the subsampled sequence
  };
  struct Candidate {
    uint32_t index = 0;  // the store's history index
    std::string history_id;
    uint64_t length = 0;            // after subsampling
    std::vector<Segment> segments;  // empty without subsampling
  };

  WindowSampler(const TrajectoryStore* store, const Options& options);
  // Rebuilds the view when the store changed (and, unless `force`, the
  // refresh interval passed).
  absl::Status Refresh(bool force);
  // The error that explains an empty view, given whether unknown tasks count.
  absl::Status EmptyViewError() const;
  // A lower bound on the transitions the store must still receive before the
  // view can hold min_transitions and a valid window; at least 1.
  uint64_t Shortfall(uint64_t min_transitions) const;
  // Next() on the current view; advances next_batch_ only on success.
  absl::Status DrawBatch(WindowBatch* batch);
  absl::Status CopyWindow(const Candidate& c, uint64_t sub_start, size_t slot,
                          WindowBatch* batch) const;

  const TrajectoryStore* store_;
  const Options options_;
  std::mt19937_64 rng_;
  uint64_t next_batch_;

  // The view: candidates with at least one valid start.
  std::vector<Candidate> view_;
  std::vector<uint64_t> cumulative_;  // prefix sums of valid starts
  bool have_view_ = false;
  uint64_t view_version_ = 0;
  absl::Time view_time_ = absl::InfinitePast();
  uint32_t obs_dim_ = 0;
  uint64_t matching_transitions_ = 0;
  uint64_t matching_histories_ = 0;
  uint64_t longest_ = 0;
  std::vector<std::string> unknown_tasks_;
  absl::Status view_error_;  // persistent filter errors (split, obs_dim)
  uint64_t rescans_ = 0;
};

}  // namespace ad::storage

#endif  // AD_STORAGE_WINDOW_SAMPLER_H_
