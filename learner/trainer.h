// Trains the AD model: the NLL (cross-entropy, optionally label-smoothed)
// of every action of a window given its preceding history (Algorithm 1,
// lines 6-10), with Adam, global-norm gradient clipping and the warm-up +
// cosine schedule (lr_schedule.h).
//
// Trainer owns the model and the optimizer and counts steps; Step() is one
// optimizer update on one batch. Save()/Restore() go through checkpoints
// (checkpoint.h) and carry model, optimizer, step and the CPU RNG, so a
// learner restarted from its latest checkpoint continues on the same curve.
// The gradients come from LibTorch autograd or, with train.engine = fused,
// from FusedTrainingStep (fused_step.h); the rest of the step is the same.
// RunTraining() is the loop around it: it pulls batches from a Prefetcher,
// measures tokens/s and the sample-wait fraction, prints a progress line,
// reports every step to a callback (the service maps it to Prometheus and
// to its Status RPC) and checkpoints every train.checkpoint_every steps.
//
// Threading: a Trainer is used from one thread. RunTraining blocks that
// thread until it reaches the step, `stop` becomes true, or an error.
#ifndef AD_LEARNER_TRAINER_H_
#define AD_LEARNER_TRAINER_H_

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "learner/batch.h"
#include "learner/checkpoint.h"
#include "learner/config.h"
#include "learner/fused_step.h"
#include "learner/model.h"
#include "learner/prefetcher.h"

namespace ad::learner {

struct StepStats {
  int64_t step = 0;     // steps completed, after this one
  double loss = 0;      // mean NLL per action (with label smoothing)
  double accuracy = 0;  // fraction of argmax == target
  double learning_rate = 0;
  double grad_norm = 0;  // before clipping
  int64_t tokens = 0;    // predictions in the batch
};

class Trainer {
 public:
  // Seeds LibTorch with config.train.seed, builds and initialises the model
  // on `device`, and its optimizer.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(
      const LearnerConfig& config, const torch::Device& device);

  // Loads model, optimizer, step and RNG from a checkpoint written by
  // Save(). FAILED_PRECONDITION if its model config differs from ours.
  absl::Status Restore(const std::string& checkpoint_path);

  // One optimizer update on `batch` (training mode).
  absl::StatusOr<StepStats> Step(const TrainingBatch& batch);

  // Loss and accuracy on `batch` in eval mode (no dropout, no mask, no
  // update); StepStats.step is the current step.
  absl::StatusOr<StepStats> Evaluate(const TrainingBatch& batch);

  // Writes a checkpoint of the current step into `dir`; returns its path.
  absl::StatusOr<std::string> Save(CheckpointDir& dir);

  int64_t step() const { return step_; }
  // The engine computing the gradients: "fused", or "torch" when
  // train.engine says so or fused does not apply (CUDA, pixel encoder).
  const char* engine() const { return fused_ != nullptr ? "fused" : "torch"; }
  const LearnerConfig& config() const { return config_; }
  ADModel model() const { return model_; }
  torch::Device device() const { return device_; }

 private:
  Trainer(const LearnerConfig& config, const torch::Device& device,
          ADModel model);
  torch::Tensor Loss(const torch::Tensor& logits,
                     const torch::Tensor& targets) const;
  // Fills every parameter's .grad() for `batch` with the configured engine
  // (train.engine); returns its loss and accuracy in `stats`.
  absl::Status ComputeGradients(const TrainingBatch& batch, StepStats& stats);

  LearnerConfig config_;
  torch::Device device_;
  ADModel model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  // Set when train.engine = fused and it applies to this model; null means
  // LibTorch autograd.
  std::unique_ptr<FusedTrainingStep> fused_;
  int64_t step_ = 0;
};

// What RunTraining reports after each step.
struct LoopStats {
  StepStats step;
  int64_t total_steps = 0;  // the loop's target step
  double step_seconds = 0;  // this step: wait + compute
  // Over the last LoopOptions::stats_window steps:
  double tokens_per_second = 0;
  double sample_wait_fraction = 0;  // time blocked on data / wall time
};

struct LoopSummary {
  int64_t steps_run = 0;
  double seconds = 0;       // wall time of the steps run
  double wait_seconds = 0;  // of which blocked on data
  int64_t tokens = 0;
  double tokens_per_second = 0;
  double sample_wait_fraction = 0;
  StepStats last;
  std::string last_checkpoint;  // path; empty if none written
};

struct LoopOptions {
  int64_t until_step = 0;  // stop when trainer.step() reaches this
  // Give up (DEADLINE_EXCEEDED) when no batch arrives for this long.
  absl::Duration batch_timeout = absl::InfiniteDuration();
  int stats_window = 20;      // steps averaged in LoopStats
  bool progress_line = true;  // ad::Progress on stderr
  // Steps excluded from LoopSummary's rates (start-up, allocator warm-up).
  int64_t warmup_steps = 0;
  const std::atomic<bool>* stop = nullptr;  // borrowed; may be null
  std::function<void(const LoopStats&)> on_step;
  std::function<void(int64_t step, const std::string& path)> on_checkpoint;

  absl::Status Validate() const;
};

// Trains until options.until_step, `stop`, or an error. Checkpoints into
// `checkpoints` (may be null) every train.checkpoint_every steps and when
// the loop ends, unless that step was just written.
absl::StatusOr<LoopSummary> RunTraining(Trainer& trainer,
                                        Prefetcher& prefetcher,
                                        CheckpointDir* checkpoints,
                                        const LoopOptions& options);

}  // namespace ad::learner

#endif  // AD_LEARNER_TRAINER_H_
