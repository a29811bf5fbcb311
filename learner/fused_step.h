// A hand-written forward and backward pass of the AD model (model.h) for one
// training step on CPU: the "fused" engine (train.engine = fused).
//
// LibTorch spends most of a cpu-demo step (107k parameters, 32 x 80 tokens)
// on per-op dispatch, autograd bookkeeping and allocation rather than on
// arithmetic. FusedTrainingStep computes the same loss as trainer.h --
// cross-entropy with label smoothing, averaged over every position -- and
// writes d(loss)/d(parameter) into each parameter's .grad() exactly as
// loss.backward() would, so the optimizer, gradient clipping, the learning
// rate schedule and checkpoints are unchanged. It works directly on the
// parameters' float data: the large matrix products go through LibTorch's
// BLAS (at::mm_out / addmm_out on preallocated tensors), everything else --
// embedding gather and scatter-add, LayerNorm, exact (erf) GELU, causal
// softmax attention, dropout, residuals and the loss -- is loops over rows
// parallelised with at::parallel_for. Activations and workspaces for the
// largest batch seen are allocated once and reused.
//
// Held equal to LibTorch: with dropout, attention dropout and the sequence
// mask at 0, loss, logits and every gradient match autograd to float
// rounding (fused_step_test.cc), for post- and pre-norm, any T <=
// context_len and any batch size. Parameters that autograd leaves without a
// gradient (mask_embed when the sequence mask is off) are left without one
// here too, so Adam skips them in both engines.
//
// Randomness: LibTorch's generator cannot be reproduced here, so dropout and
// sequence-mask draws come from a counter-based hash of (step seed, site,
// element index); the step seed is one 64-bit draw from LibTorch's default
// CPU generator, so torch::manual_seed and checkpointed RNG state still make
// a run deterministic and resumable. A fused run is deterministic for a seed
// (independent of the thread count) but draws different masks from a torch
// run with the same seed. Dropout keeps an element with probability 1 - p
// (p quantised to 2^-32) and scales it by 1 / (1 - p).
//
// Scope: the "discrete" observation encoder, float32 parameters on CPU.
// Create() answers UNIMPLEMENTED for anything else (another encoder, a CUDA
// model), and the trainer then falls back to LibTorch autograd.
//
// Threading: one thread calls a FusedTrainingStep at a time, and nothing
// else may use the model meanwhile; the work inside is parallelised over
// LibTorch's intra-op threads.
#ifndef AD_LEARNER_FUSED_STEP_H_
#define AD_LEARNER_FUSED_STEP_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/batch.h"
#include "learner/model.h"

namespace ad::learner {

struct FusedStepResult {
  double loss = 0;      // mean over B * T positions, label-smoothed
  double accuracy = 0;  // fraction of argmax(logits) == target
  int64_t masked = 0;   // tokens replaced by mask_embed in this step
  int64_t tokens = 0;   // B * T
};

class FusedTrainingStep {
 public:
  // Borrows `model` (shared handle) for its parameters. UNIMPLEMENTED if
  // the model is not float32 on CPU or its observation encoder is not the
  // discrete one.
  static absl::StatusOr<std::unique_ptr<FusedTrainingStep>> Create(
      ADModel model);

  // Forward and backward in training mode (dropout and sequence mask as
  // the model's options say): writes every parameter's .grad() (allocated
  // on first use, overwritten, never accumulated) and returns loss and
  // accuracy. `seed` selects the dropout and mask draws.
  // INVALID_ARGUMENT for a window longer than context_len, mismatched
  // shapes or out-of-range indices.
  absl::StatusOr<FusedStepResult> ForwardBackward(const ModelInput& input,
                                                  const torch::Tensor& targets,
                                                  double label_smoothing,
                                                  uint64_t seed);

  // The logits [B, T, num_actions] of the last ForwardBackward (a view of
  // a workspace, valid until the next call). For tests.
  torch::Tensor logits() const;

  // Minimum bytes of activations and workspaces currently held.
  int64_t WorkspaceBytes() const;

  ~FusedTrainingStep();
  FusedTrainingStep(const FusedTrainingStep&) = delete;
  FusedTrainingStep& operator=(const FusedTrainingStep&) = delete;

 private:
  struct Impl;
  explicit FusedTrainingStep(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One 64-bit draw from LibTorch's default CPU generator: the trainer's
// per-step seed for ForwardBackward.
uint64_t DrawStepSeed();

// The keep decisions of the fused engine's dropout, exposed for tests:
// out[i] = 1 / (1 - p) if element (first + i) of the site keyed `key` is
// kept, else 0.
void FusedDropoutScales(uint64_t key, double p, uint32_t first, int64_t count,
                        float* out);

// Forward-pass floating-point operations per token of the model's matrix
// products and attention (2 per multiply-add; attention counted over the
// full window, the usual convention), at window length `window`, plus the
// pixel encoder's convs and linears for one frame (one frame per token). A
// training step costs about 3x this per token.
double ForwardFlopsPerToken(const ModelOptions& options, int64_t window);

}  // namespace ad::learner

#endif  // AD_LEARNER_FUSED_STEP_H_
