#include "actors/torch_util.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envs/watermaze.h"
#include "glog/logging.h"

// Provided by OpenBLAS when it is LibTorch's BLAS; null otherwise.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace ad::actors {

void SetComputeThreads(int threads) {
  torch::set_num_threads(threads);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(threads);
}

void InitLinear(torch::nn::Linear& layer, std::mt19937_64& rng, double gain) {
  torch::NoGradGuard no_grad;
  const int64_t fan_in = layer->weight.size(1);
  const double bound = gain / std::sqrt(static_cast<double>(fan_in));
  std::uniform_real_distribution<float> dist(static_cast<float>(-bound),
                                             static_cast<float>(bound));
  for (torch::Tensor* t : {&layer->weight, &layer->bias}) {
    std::vector<float> values(static_cast<size_t>(t->numel()));
    for (float& v : values) v = dist(rng);
    t->copy_(torch::from_blob(values.data(), t->sizes(), torch::kFloat32));
  }
}

absl::StatusOr<std::unique_ptr<OneHotEncoder>> OneHotEncoder::Create(
    const envs::SpaceSpec& space) {
  if (space.obs_high.empty() ||
      static_cast<int>(space.obs_high.size()) != space.obs_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "space ", space.family, ": obs_high must have obs_dim entries"));
  }
  int width = 0;
  for (int32_t h : space.obs_high) {
    if (h < 1 || h > 4096) {
      return absl::InvalidArgumentError(
          absl::StrCat("space ", space.family, ": obs_high entry ", h,
                       " outside [1, 4096]; one-hot encoding does not apply"));
    }
    width += h;
  }
  if (width > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        "space ", space.family, ": one-hot width ", width, " exceeds 4096"));
  }
  return std::unique_ptr<OneHotEncoder>(
      new OneHotEncoder(space.obs_high, width));
}

void ObservationEncoder::Encode(absl::Span<const int32_t> obs, int n,
                                float* out) const {
  const size_t size = static_cast<size_t>(n) * width();
  std::vector<uint8_t> codes(size);
  EncodeCodes(obs, n, codes.data());
  const float scale = code_scale();
  for (size_t k = 0; k < size; ++k) out[k] = codes[k] * scale;
}

template <typename T>
void OneHotEncoder::EncodeAs(absl::Span<const int32_t> obs, int n,
                             T* out) const {
  const size_t d = high_.size();
  CHECK_EQ(obs.size(), static_cast<size_t>(n) * d);
  std::memset(out, 0, sizeof(T) * static_cast<size_t>(n) * width_);
  for (int i = 0; i < n; ++i) {
    T* row = out + static_cast<size_t>(i) * width_;
    int offset = 0;
    for (size_t k = 0; k < d; ++k) {
      const int32_t v = obs[i * d + k];
      CHECK(v >= 0 && v < high_[k]) << "observation component " << k;
      row[offset + v] = 1;
      offset += high_[k];
    }
  }
}

void OneHotEncoder::EncodeCodes(absl::Span<const int32_t> obs, int n,
                                uint8_t* out) const {
  EncodeAs(obs, n, out);
}

void OneHotEncoder::Encode(absl::Span<const int32_t> obs, int n,
                           float* out) const {
  EncodeAs(obs, n, out);
}

absl::StatusOr<ImageShape> PixelShape(const envs::SpaceSpec& space) {
  if (space.family == "watermaze") {
    return ImageShape{envs::kWatermazeChannels, envs::kWatermazeHeight,
                      envs::kWatermazeWidth};
  }
  return absl::NotFoundError(
      absl::StrCat("space ", space.family,
                   " has no pixel observations (pixel families: "
                   "watermaze)"));
}

absl::StatusOr<std::unique_ptr<PixelEncoder>> PixelEncoder::Create(
    const envs::SpaceSpec& space, int downsample) {
  absl::StatusOr<ImageShape> in = PixelShape(space);
  if (!in.ok()) return absl::InvalidArgumentError(in.status().message());
  if (space.obs_dim != in->size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "space ", space.family, ": obs_dim ", space.obs_dim, " is not ",
        in->height, " x ", in->width, " x ", in->channels));
  }
  if (downsample < 1 || in->height % downsample != 0 ||
      in->width % downsample != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pixel downsample factor ", downsample,
        " must be >= 1 and divide the frame's ", in->height, " x ", in->width));
  }
  const ImageShape out{in->channels, in->height / downsample,
                       in->width / downsample};
  return std::unique_ptr<PixelEncoder>(new PixelEncoder(*in, out, downsample));
}

void PixelEncoder::EncodeCodes(absl::Span<const int32_t> obs, int n,
                               uint8_t* out) const {
  CHECK_EQ(obs.size(), static_cast<size_t>(n) * in_.size());
  const int C = in_.channels, W = in_.width;
  const int ho = out_.height, wo = out_.width, d = downsample_;
  const int area = d * d;
  std::vector<int32_t> sums(static_cast<size_t>(out_.size()));
  for (int i = 0; i < n; ++i) {
    const int32_t* frame = obs.data() + static_cast<size_t>(i) * in_.size();
    uint8_t* planes = out + static_cast<size_t>(i) * out_.size();
    std::fill(sums.begin(), sums.end(), 0);
    int32_t bad = 0;  // any bit outside 0..255
    for (int y = 0; y < in_.height; ++y) {
      const int32_t* row = frame + static_cast<size_t>(y) * W * C;
      const int yo = y / d;
      for (int x = 0; x < W; ++x) {
        const int xo = x / d;
        for (int c = 0; c < C; ++c) {
          const int32_t v = row[x * C + c];
          bad |= v & ~0xFF;
          sums[(static_cast<size_t>(c) * ho + yo) * wo + xo] += v;
        }
      }
    }
    CHECK_EQ(bad, 0) << "pixel value outside [0, 256) in observation " << i;
    for (size_t k = 0; k < sums.size(); ++k) {
      planes[k] = static_cast<uint8_t>((sums[k] + area / 2) / area);
    }
  }
}

}  // namespace ad::actors
