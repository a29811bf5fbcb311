// Dropout whose mask is drawn by a counter-based hash instead of LibTorch's
// per-element Bernoulli sampler.
//
// On CPU, LibTorch 1.13 draws dropout masks one element at a time through
// the locked default generator (bernoulli_): for the AD model that is about
// a fifth of a training step. Here one 64-bit seed is taken from the default
// CPU generator per call (so torch::manual_seed and checkpointed RNG state
// still make runs reproducible and resumable), and element i keeps its value
// iff a 16-bit slice of SplitMix64(seed, i / 4) is >= p * 65536, computed in
// parallel. Kept values are scaled by 1 / (1 - p), as torch's dropout does;
// p is thereby quantised to 1/65536. The mask is saved for backward.
//
// On other devices, or outside training, it is torch's dropout.
#ifndef AD_LEARNER_FAST_DROPOUT_H_
#define AD_LEARNER_FAST_DROPOUT_H_

#include <torch/torch.h>

namespace ad::learner {

// x * mask / (1 - p) in training; x itself otherwise or when p == 0.
torch::Tensor FastDropout(const torch::Tensor& x, double p, bool training);

// The keep mask FastDropout would use, scaled: 0 or 1 / (1 - p), float32,
// contiguous, on CPU. Exposed for tests.
torch::Tensor DropoutMask(torch::IntArrayRef sizes, double p, uint64_t seed);

}  // namespace ad::learner

#endif  // AD_LEARNER_FAST_DROPOUT_H_
