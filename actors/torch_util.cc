#include "actors/torch_util.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
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

void OneHotEncoder::Encode(absl::Span<const int32_t> obs, int n,
                           float* out) const {
  const size_t d = high_.size();
  CHECK_EQ(obs.size(), static_cast<size_t>(n) * d);
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(n) * width_);
  for (int i = 0; i < n; ++i) {
    float* row = out + static_cast<size_t>(i) * width_;
    int offset = 0;
    for (size_t k = 0; k < d; ++k) {
      const int32_t v = obs[i * d + k];
      CHECK(v >= 0 && v < high_[k]) << "observation component " << k;
      row[offset + v] = 1.0f;
      offset += high_[k];
    }
  }
}

}  // namespace ad::actors
