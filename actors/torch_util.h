// Small LibTorch helpers shared by the neural sources (A3C, DQN): seeded,
// thread-safe parameter initialisation and the observation encoders (one-hot
// for the discrete families, pixels for Watermaze).
//
// LibTorch's own initialisers draw from one process-wide generator, which
// several tasks training on different threads would share; these helpers
// draw from a caller-owned std::mt19937_64 instead, so every agent is
// reproducible from its seed whatever else runs.
#ifndef AD_ACTORS_TORCH_UTIL_H_
#define AD_ACTORS_TORCH_UTIL_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// Turns observations into network inputs. The sources only see `width()`
// and `Encode()`; a replay that keeps many observations stores the compact
// `EncodeCodes()` form instead (one byte per feature, feature = code *
// code_scale(), exactly).
class ObservationEncoder {
 public:
  virtual ~ObservationEncoder() = default;
  // Feature values per observation.
  virtual int width() const = 0;
  // Writes `n` observations (n * obs_dim ints) as n * width() byte codes.
  virtual void EncodeCodes(absl::Span<const int32_t> obs, int n,
                           uint8_t* out) const = 0;
  // What one code unit is worth as a feature.
  virtual float code_scale() const { return 1.0f; }
  // Writes `n` observations (n * obs_dim ints) as n * width() floats
  // (default: the codes times code_scale()).
  virtual void Encode(absl::Span<const int32_t> obs, int n, float* out) const;
};

// One one-hot block per observation component (component i has obs_high[i]
// values), concatenated: Dark Room (x, y) -> 9 + 9 = 18 features; the
// bandit's constant 0 -> 1 feature. Codes are 0 / 1.
class OneHotEncoder : public ObservationEncoder {
 public:
  // INVALID_ARGUMENT if obs_high is missing or the width would exceed 4096.
  static absl::StatusOr<std::unique_ptr<OneHotEncoder>> Create(
      const envs::SpaceSpec& space);
  int width() const override { return width_; }
  void EncodeCodes(absl::Span<const int32_t> obs, int n,
                   uint8_t* out) const override;
  void Encode(absl::Span<const int32_t> obs, int n, float* out) const override;

 private:
  OneHotEncoder(std::vector<int32_t> high, int width)
      : high_(std::move(high)), width_(width) {}
  template <typename T>
  void EncodeAs(absl::Span<const int32_t> obs, int n, T* out) const;
  std::vector<int32_t> high_;
  int width_;
};

// An image's shape: channels x height x width.
struct ImageShape {
  int channels = 0;
  int height = 0;
  int width = 0;
  int size() const { return channels * height * width; }
};

// The image a pixel family's observation holds (Watermaze: 3 x 72 x 96, the
// observation laid out height x width x channels, channels interleaved);
// NOT_FOUND for a family without pixels.
absl::StatusOr<ImageShape> PixelShape(const envs::SpaceSpec& space);

// Pixel frames (values in [0, 256), layout H x W x C as the env sends them)
// to planar C x H' x W' features in [0, 1], optionally downsampled by
// averaging `downsample` x `downsample` blocks first (H' = H / downsample):
// code = the block mean rounded to the nearest integer, feature = code /
// 255. Feature (c, y, x) is at c * H' * W' + y * W' + x, the layout of a
// [C, H', W'] tensor, so a conv torso reshapes it without copying. Dies on a
// value outside [0, 256) (the env's contract).
class PixelEncoder : public ObservationEncoder {
 public:
  // INVALID_ARGUMENT if the family has no pixels (see PixelShape) or
  // `downsample` is not >= 1 or does not divide both height and width.
  static absl::StatusOr<std::unique_ptr<PixelEncoder>> Create(
      const envs::SpaceSpec& space, int downsample);
  // The encoded image: C x H' x W'.
  const ImageShape& shape() const { return out_; }
  int width() const override { return out_.size(); }
  void EncodeCodes(absl::Span<const int32_t> obs, int n,
                   uint8_t* out) const override;
  float code_scale() const override { return 1.0f / 255.0f; }

 private:
  PixelEncoder(ImageShape in, ImageShape out, int downsample)
      : in_(in), out_(out), downsample_(downsample) {}
  ImageShape in_;
  ImageShape out_;
  int downsample_;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_TORCH_UTIL_H_
