// The Watermaze image encoder of Laskin et al. (2022), Appendix L Table 3,
// as an ObservationEncoder (model.h): MakeObservationEncoder builds it for
// model.obs_encoder = "pixel".
//
// An observation is one frame of frame_height x frame_width x
// frame_channels values in [0, 256), row-major with channels interleaved
// (envs/watermaze.h): value (row, col, ch) is component
// (row * frame_width + col) * frame_channels + ch. Encode() takes
// [B, T, obs_dim] in any integer dtype (uint8 from the training batch,
// int64 from evaluators), scales values to [0, 1], lays the B*T frames out
// as NCHW (in the channels-last memory format, so no copy transposes
// them), averages pixel_downsample x pixel_downsample blocks when that is
// above 1 (a CPU preset's saving; the paper has none) and runs conv_blocks
// blocks of
//
//   Conv2d(conv_channels, conv_kernel, stride conv_stride, padding
//   conv_kernel / 2, no bias) -> BatchNorm2d(momentum 1 - batchnorm_decay,
//   batchnorm_eps) -> ReLU -> MaxPool2d(pool_size, pool_size) ->
//   Dropout(conv_dropout)
//
// then flattens, applies Linear(encoder_units) + ReLU (Table 3's final
// layer) and a Linear to embed_dim (our addition: Table 1 gives the
// transformer 64 dimensions, Table 3 the encoder 256 units). With the paper
// values a 72x96 frame shrinks 36x48 -> 18x24 -> 9x12 -> 4x6 -> 2x3 -> 1x1,
// so the flattened feature has conv_channels values.
//
// Conv padding is ours too (the paper does not say; "same"-style padding is
// what lets three stride-2 blocks with pooling fit a 72x96 frame). Convs
// have no bias because BatchNorm follows. The encoder keeps LibTorch's
// default initialisation (Kaiming-uniform convs and linears, BatchNorm 1/0);
// ADModel's GPT-style init skips it (InitializesItself).
//
// Modes: in train() BatchNorm normalises with the batch's statistics over
// all B*T frames and updates its running statistics; in eval() it uses the
// running statistics (checkpointed as buffers), so an eval-mode forward is
// deterministic and independent of the other frames in the batch.
// Threading as for ADModel: one thread at a time.
#ifndef AD_LEARNER_PIXEL_ENCODER_H_
#define AD_LEARNER_PIXEL_ENCODER_H_

#include <torch/torch.h>

#include <cstdint>

#include "learner/config.h"
#include "learner/model.h"

namespace ad::learner {

// The spatial size of the feature map after the conv blocks; {0, 0} when a
// block leaves no pixel (options.Validate() rejects that).
struct PixelFeatureShape {
  int64_t height = 0;
  int64_t width = 0;
};
PixelFeatureShape PixelFeatures(const ModelOptions& options);

// Multiply-adds x 2 of one frame's encoding (convs and linears), for the
// learner benchmark's FLOP count.
double PixelEncoderForwardFlops(const ModelOptions& options);

class PixelObservationEncoder : public ObservationEncoder {
 public:
  // Dies if options.Validate() fails (programmer error; CreateModel checks).
  explicit PixelObservationEncoder(const ModelOptions& options);

  // [B, T, obs_dim] integers in [0, 256) -> [B, T, embed_dim].
  torch::Tensor Encode(const torch::Tensor& obs) override;
  bool InitializesItself() const override { return true; }

  // The frames of `obs` [B, T, obs_dim] as float [B*T, C, H, W] in [0, 1]
  // (channels-last memory format): what the convs read. Exposed for tests.
  torch::Tensor Frames(const torch::Tensor& obs) const;
  // With pixel_downsample = k > 1: the frames averaged over k x k blocks,
  // float [B*T, C, H / k, W / k] (channels-last memory), in one pass over the
  // bytes (what Frames + an average pool compute, without the full-size
  // float copy). Exposed for tests.
  torch::Tensor DownsampledFrames(const torch::Tensor& obs) const;

 private:
  ModelOptions options_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> norms_;
  torch::nn::Linear hidden_{nullptr};   // flattened features -> units
  torch::nn::Linear project_{nullptr};  // units -> embed_dim
};

}  // namespace ad::learner

#endif  // AD_LEARNER_PIXEL_ENCODER_H_
