// Checkpoints of the AD learner: one file per checkpoint holding the config,
// the model's parameters and buffers, the optimizer state, the step and the
// RNG state -- everything a restarted learner needs to continue exactly
// where it stopped, and everything an evaluator needs to rebuild the policy.
//
// Evaluator use:
//
//   ASSIGN_OR_RETURN(Checkpoint ckpt,
//   LoadCheckpoint("runs/x/ckpt-000000001000.pt")); ckpt.model->eval();   //
//   config in ckpt.config, step in ckpt.step
//
// Files are written atomically: to a temporary name in the same directory,
// fsync'ed, then renamed, so a reader or a crash never sees half a file.
// CheckpointDir names files by step (ckpt-<12-digit step>.pt), keeps the
// newest K, and lists them. Reading and writing block on disk I/O; nothing
// here spawns threads. CheckpointDir is thread-compatible (one writer; any
// number of readers of the files, which never change once renamed).
#ifndef AD_LEARNER_CHECKPOINT_H_
#define AD_LEARNER_CHECKPOINT_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "learner/config.h"
#include "learner/model.h"

namespace ad::learner {

// What a checkpoint file holds, for writing.
struct CheckpointContents {
  const LearnerConfig* config = nullptr;         // borrowed
  ADModel model{nullptr};                        // shared handle
  torch::optim::Optimizer* optimizer = nullptr;  // borrowed; may be null
  int64_t step = 0;                              // optimizer steps completed
  torch::Tensor rng_state;  // CPU generator state; may be undefined
};

// A loaded checkpoint: the policy and how it was trained.
struct Checkpoint {
  LearnerConfig config;
  ADModel model{nullptr};  // on the requested device, in training mode
  int64_t step = 0;
  torch::Tensor rng_state;  // undefined if the file has none
};

// Serialises `contents` to bytes (the format of the files).
absl::StatusOr<std::string> SerializeCheckpoint(
    const CheckpointContents& contents);

// Writes `contents` to `path` atomically (temp file + fsync + rename).
absl::Status WriteCheckpoint(const std::string& path,
                             const CheckpointContents& contents);

// Loads the config and model of a checkpoint file / bytes (e.g. fetched
// with LearnerService.GetCheckpoint). INVALID_ARGUMENT / NOT_FOUND on a
// missing, truncated or foreign file.
absl::StatusOr<Checkpoint> LoadCheckpoint(
    const std::string& path, const torch::Device& device = torch::kCPU);
absl::StatusOr<Checkpoint> LoadCheckpointFromBytes(
    absl::string_view bytes, const torch::Device& device = torch::kCPU);

// Restores the optimizer state of a checkpoint into `optimizer`, which must
// have been built over the parameters of a model with the same config.
absl::Status LoadOptimizerState(const std::string& path,
                                torch::optim::Optimizer& optimizer);

struct CheckpointFile {
  int64_t step = 0;
  std::string path;
  uint64_t bytes = 0;
};

// A directory of checkpoints named by step.
class CheckpointDir {
 public:
  struct Options {
    std::string directory;  // created if missing
    int keep = 3;           // newest checkpoints kept; older ones deleted

    absl::Status Validate() const;
  };

  static absl::StatusOr<CheckpointDir> Open(const Options& options);

  // Writes the checkpoint for contents.step, then deletes all but the
  // newest `keep`. Returns the file's path.
  absl::StatusOr<std::string> Save(const CheckpointContents& contents);

  // Complete checkpoints, oldest first (temporary files are not listed).
  absl::StatusOr<std::vector<CheckpointFile>> List() const;
  // The newest checkpoint, or nullopt if there is none.
  absl::StatusOr<std::optional<CheckpointFile>> Latest() const;
  // The checkpoint of `step`; NOT_FOUND if it is not (or no longer) there.
  absl::StatusOr<CheckpointFile> Find(int64_t step) const;

  std::string PathForStep(int64_t step) const;
  const std::string& directory() const { return options_.directory; }

 private:
  explicit CheckpointDir(Options options) : options_(std::move(options)) {}
  Options options_;
};

}  // namespace ad::learner

#endif  // AD_LEARNER_CHECKPOINT_H_
