// A WindowSource that interleaves several others batch by batch: how one AD
// model is trained on several environment families at once (`data.env =
// darkroom,darkroom_hard` in a learner preset; services/learner/main.cc
// builds one store source per family and mixes them here).
//
// Batch k (counting from 0 over the whole run) comes from part k mod n, as
// that part's batch floor(k / n). A batch is never mixed across parts: every
// window of a batch has the same family, obs_dim and window_len. The parts
// themselves must be built to continue where a resumed run left off:
// PartFirstBatch(i, n, first_batch) says which of its own batches part i
// starts at when the mixed run resumes at batch `first_batch`.
//
// Threading: like every WindowSource, Next() is called from one thread at a
// time; Cancel() is thread-safe and cancels every part. Owns its parts.
#ifndef AD_LEARNER_MIXED_WINDOW_SOURCE_H_
#define AD_LEARNER_MIXED_WINDOW_SOURCE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/window_source.h"

namespace ad::learner {

class MixedWindowSource : public WindowSource {
 public:
  // INVALID_ARGUMENT if `parts` is empty or holds a null, or first_batch < 0.
  static absl::StatusOr<std::unique_ptr<MixedWindowSource>> Create(
      std::vector<std::unique_ptr<WindowSource>> parts, int64_t first_batch);

  // The first of its own batches part `part` of `num_parts` must produce when
  // the mixed run starts at `first_batch`: how many batches k < first_batch
  // have k mod num_parts == part.
  static int64_t PartFirstBatch(int part, int num_parts, int64_t first_batch);

  // The next batch of part (next batch index) mod n; its errors pass through
  // unchanged (DEADLINE_EXCEEDED leaves the turn with the same part, so a
  // retry asks that part again and the interleaving never shifts).
  absl::StatusOr<Windows> Next(absl::Time deadline) override;

  void Cancel() override;

  int64_t next_batch() const { return next_batch_; }

 private:
  MixedWindowSource(std::vector<std::unique_ptr<WindowSource>> parts,
                    int64_t first_batch);

  const std::vector<std::unique_ptr<WindowSource>> parts_;
  int64_t next_batch_;  // index over the whole mixed run
};

}  // namespace ad::learner

#endif  // AD_LEARNER_MIXED_WINDOW_SOURCE_H_
