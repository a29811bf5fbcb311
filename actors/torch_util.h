// Small LibTorch helpers shared by the neural sources (A3C, DQN): seeded,
// thread-safe parameter initialisation and the one-hot observation encoder.
//
// LibTorch's own initialisers draw from one process-wide generator, which
// several tasks training on different threads would share; these helpers
// draw from a caller-owned std::mt19937_64 instead, so every agent is
// reproducible from its seed whatever else runs.
#ifndef AD_ACTORS_TORCH_UTIL_H_
#define AD_ACTORS_TORCH_UTIL_H_

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "envs/env.h"

namespace ad::actors {

// Sets LibTorch's intra-op threads and, when LibTorch's BLAS is OpenBLAS,
// OpenBLAS's own thread count to `threads` (process-wide; call once, before
// work starts). Without the second, OpenBLAS spins one thread per core
// under every matmul, which costs more than it gains on these small nets.
void SetComputeThreads(int threads);

// Re-initialises a Linear layer: weights and bias uniform in
// +-(gain / sqrt(fan_in)) (LibTorch's default range when gain = 1).
void InitLinear(torch::nn::Linear& layer, std::mt19937_64& rng,
                double gain = 1.0);

// Turns observations into network inputs. The seam where a pixel encoder
// (a torch module over 72x96x3 frames) plugs in later: the sources only see
// `width()` and `Encode()`.
class ObservationEncoder {
 public:
  virtual ~ObservationEncoder() = default;
  // Feature values per observation.
  virtual int width() const = 0;
  // Writes `n` observations (n * obs_dim ints) as n * width() floats.
  virtual void Encode(absl::Span<const int32_t> obs, int n,
                      float* out) const = 0;
};

// One one-hot block per observation component (component i has obs_high[i]
// values), concatenated: Dark Room (x, y) -> 9 + 9 = 18 features; the
// bandit's constant 0 -> 1 feature.
class OneHotEncoder : public ObservationEncoder {
 public:
  // INVALID_ARGUMENT if obs_high is missing or the width would exceed 4096.
  static absl::StatusOr<std::unique_ptr<OneHotEncoder>> Create(
      const envs::SpaceSpec& space);
  int width() const override { return width_; }
  void Encode(absl::Span<const int32_t> obs, int n, float* out) const override;

 private:
  OneHotEncoder(std::vector<int32_t> high, int width)
      : high_(std::move(high)), width_(width) {}
  std::vector<int32_t> high_;
  int width_;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_TORCH_UTIL_H_
