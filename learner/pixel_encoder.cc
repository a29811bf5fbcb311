#include "learner/pixel_encoder.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "learner/fast_dropout.h"

namespace ad::learner {

PixelFeatureShape PixelFeatures(const ModelOptions& o) {
  int64_t h = o.frame_height, w = o.frame_width;
  const int64_t pad = o.conv_kernel / 2;
  for (int i = 0; i < o.conv_blocks; ++i) {
    h = (h + 2 * pad - o.conv_kernel) / o.conv_stride + 1;
    w = (w + 2 * pad - o.conv_kernel) / o.conv_stride + 1;
    if (h < 1 || w < 1) return {};
    h /= o.pool_size;
    w /= o.pool_size;
    if (h < 1 || w < 1) return {};
  }
  return {h, w};
}

double PixelEncoderForwardFlops(const ModelOptions& o) {
  double flops = 0;
  int64_t h = o.frame_height, w = o.frame_width;
  int64_t in = o.frame_channels;
  const int64_t pad = o.conv_kernel / 2;
  for (int i = 0; i < o.conv_blocks; ++i) {
    h = (h + 2 * pad - o.conv_kernel) / o.conv_stride + 1;
    w = (w + 2 * pad - o.conv_kernel) / o.conv_stride + 1;
    flops += 2.0 * h * w * o.conv_channels * in * o.conv_kernel * o.conv_kernel;
    h /= o.pool_size;
    w /= o.pool_size;
    in = o.conv_channels;
  }
  const PixelFeatureShape f = PixelFeatures(o);
  flops += 2.0 * f.height * f.width * o.conv_channels * o.encoder_units;
  flops += 2.0 * o.encoder_units * o.embed_dim;
  return flops;
}

PixelObservationEncoder::PixelObservationEncoder(const ModelOptions& options)
    : options_(options) {
  absl::Status valid = options.Validate();
  CHECK(valid.ok()) << valid;
  CHECK_EQ(options.obs_encoder, "pixel");
  int64_t in = options.frame_channels;
  for (int i = 0; i < options.conv_blocks; ++i) {
    const std::string block = absl::StrCat("block", i, "_");
    convs_.push_back(register_module(
        block + "conv",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, options.conv_channels,
                                                   options.conv_kernel)
                              .stride(options.conv_stride)
                              .padding(options.conv_kernel / 2)
                              .bias(false))));
    norms_.push_back(register_module(
        block + "norm", torch::nn::BatchNorm2d(
                            torch::nn::BatchNorm2dOptions(options.conv_channels)
                                .eps(options.batchnorm_eps)
                                .momentum(1.0 - options.batchnorm_decay))));
    in = options.conv_channels;
  }
  const PixelFeatureShape f = PixelFeatures(options);
  hidden_ = register_module(
      "hidden", torch::nn::Linear(f.height * f.width * options.conv_channels,
                                  options.encoder_units));
  project_ = register_module(
      "project", torch::nn::Linear(options.encoder_units, options.embed_dim));
}

torch::Tensor PixelObservationEncoder::Frames(const torch::Tensor& obs) const {
  TORCH_CHECK(obs.dim() == 3 && obs.size(2) == options_.obs_dim,
              "pixel observations must be [B, T, ", options_.obs_dim, "], got ",
              obs.sizes());
  const int64_t n = obs.size(0) * obs.size(1);
  // [N, H, W, C] as stored is already NCHW in the channels-last memory
  // format, which the convs (oneDNN), BatchNorm and pooling take as it is:
  // no transposing copy.
  return obs
      .reshape({n, options_.frame_height, options_.frame_width,
                options_.frame_channels})
      .to(torch::kFloat)
      .mul_(1.0 / 255.0)
      .permute({0, 3, 1, 2});
}

torch::Tensor PixelObservationEncoder::Encode(const torch::Tensor& obs) {
  torch::Tensor x = Frames(obs);
  for (size_t i = 0; i < convs_.size(); ++i) {
    x = norms_[i](convs_[i](x));
    // Table 3 says ReLU then MaxPool; ReLU is monotone, so pooling first
    // gives the same values (and gradients) with ReLU on a quarter of them.
    x = torch::max_pool2d(x, options_.pool_size, options_.pool_size);
    x = torch::relu(x);
    x = FastDropout(x, options_.conv_dropout, is_training());
  }
  x = torch::relu(hidden_(x.flatten(1)));
  return project_(x).view({obs.size(0), obs.size(1), options_.embed_dim});
}

}  // namespace ad::learner
