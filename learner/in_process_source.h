// A WindowSource over learning histories held in memory: for unit tests,
// benchmarks and single-process experiments. Like the store, it samples
// windows uniformly over all valid window starts of the histories of one
// split, and never returns a window from a history of another split.
//
// Batch k (counting from request.first_batch) is a pure function of
// (seed, k), so a source recreated at first_batch = N continues the exact
// sequence of an uninterrupted one. Next() never blocks. Thread-compatible.
#ifndef AD_LEARNER_IN_PROCESS_SOURCE_H_
#define AD_LEARNER_IN_PROCESS_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/window_source.h"

namespace ad::learner {

// One learning history: transitions in order (see Windows for the layout).
struct History {
  std::string history_id;
  std::string task_id;
  std::string split = "train";  // "train" or "test"
  int obs_dim = 0;
  std::vector<int32_t> obs;  // length() * obs_dim
  std::vector<int32_t> actions;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;

  int64_t length() const { return static_cast<int64_t>(actions.size()); }
};

class InProcessWindowSource : public WindowSource {
 public:
  // Keeps the histories of `split` that hold at least one window.
  // INVALID_ARGUMENT on inconsistent histories or request; NOT_FOUND if no
  // history of `split` is long enough.
  static absl::StatusOr<std::unique_ptr<InProcessWindowSource>> Create(
      std::vector<History> histories, const WindowRequest& request,
      const std::string& split = "train");

  absl::StatusOr<Windows> Next(absl::Time deadline) override;

  int64_t next_batch() const { return next_batch_; }

 private:
  InProcessWindowSource(std::vector<History> histories,
                        const WindowRequest& request);

  std::vector<History> histories_;
  std::vector<int64_t> cumulative_starts_;  // prefix sums of valid starts
  WindowRequest request_;
  int64_t next_batch_;
};

}  // namespace ad::learner

#endif  // AD_LEARNER_IN_PROCESS_SOURCE_H_
