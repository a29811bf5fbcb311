#include "learner/pixel_encoder.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "learner/fast_dropout.h"

namespace ad::learner {

namespace {

// B * T for pixel observations [B, T, obs_dim]; throws (as LibTorch does)
// on another shape.
int64_t FrameCount(const torch::Tensor& obs, int64_t obs_dim) {
  TORCH_CHECK(obs.dim() == 3 && obs.size(2) == obs_dim,
              "pixel observations must be [B, T, ", obs_dim, "], got ",
              obs.sizes());
  return obs.size(0) * obs.size(1);
}

}  // namespace

PixelFeatureShape PixelFeatures(const ModelOptions& o) {
  int64_t h = o.frame_height / o.pixel_downsample;
  int64_t w = o.frame_width / o.pixel_downsample;
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
  // The average pool: one add per input value.
  double flops = o.pixel_downsample > 1
                     ? 1.0 * o.frame_height * o.frame_width * o.frame_channels
                     : 0.0;
  int64_t h = o.frame_height / o.pixel_downsample;
  int64_t w = o.frame_width / o.pixel_downsample;
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
  const int64_t n = FrameCount(obs, options_.obs_dim);
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

torch::Tensor PixelObservationEncoder::DownsampledFrames(
    const torch::Tensor& obs) const {
  const int64_t n = FrameCount(obs, options_.obs_dim);
  const int64_t k = options_.pixel_downsample;
  const int64_t width = options_.frame_width, c = options_.frame_channels;
  const int64_t h = options_.frame_height / k, w = width / k;
  // Values are in [0, 256) (Validate, CheckModelFitsSpace), so the int64
  // of evaluators narrows to bytes exactly.
  const torch::Tensor bytes =
      obs.reshape({n, options_.obs_dim}).to(torch::kByte).contiguous();
  // Channels-last memory ([n, h, w, c]) seen as NCHW, as Frames() gives:
  // the layout the convs, BatchNorm and pooling run fastest on here.
  torch::Tensor out = torch::empty({n, h, w, c}, torch::kFloat);
  const uint8_t* in = bytes.data_ptr<uint8_t>();
  float* dst_all = out.data_ptr<float>();
  const float scale = 1.0f / (255.0f * static_cast<float>(k * k));
  // One pass over the bytes: a block's k x k values are summed exactly (at
  // most 16 * 16 * 255 fits a float's mantissa) and scaled once; rows and
  // columns past the last whole block are dropped, as a floor-mode average
  // pool does. Frames are independent, so they split across threads.
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> row_sums(w * c);
    for (int64_t f = begin; f < end; ++f) {
      const uint8_t* frame = in + f * options_.obs_dim;
      float* dst = dst_all + f * h * w * c;
      for (int64_t y = 0; y < h; ++y) {
        std::fill(row_sums.begin(), row_sums.end(), 0.0f);
        for (int64_t dy = 0; dy < k; ++dy) {
          const uint8_t* row = frame + (y * k + dy) * width * c;
          for (int64_t x = 0; x < w; ++x) {
            const uint8_t* block = row + x * k * c;
            float* sums = row_sums.data() + x * c;
            for (int64_t dx = 0; dx < k; ++dx) {
              for (int64_t ch = 0; ch < c; ++ch) sums[ch] += block[dx * c + ch];
            }
          }
        }
        for (int64_t i = 0; i < w * c; ++i) {
          dst[y * w * c + i] = row_sums[i] * scale;
        }
      }
    }
  });
  return out.permute({0, 3, 1, 2});
}

torch::Tensor PixelObservationEncoder::Encode(const torch::Tensor& obs) {
  torch::Tensor x =
      options_.pixel_downsample > 1 ? DownsampledFrames(obs) : Frames(obs);
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
