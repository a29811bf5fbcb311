// G independent convolutional torsos (Table 5's ResNet for the Watermaze
// source) evaluated and trained as one batch, the pixel counterpart of
// actors/grouped_mlp.h: DQN puts one in front of its GroupedMlp head when
// `dqn.torso: conv`.
//
// A torso is a stack of stages; stage s is
//   conv(k x k, stride, channels[s], "same" padding)
//   -> max pool(pool_kernel, pool_stride, padding pool_kernel / 2)
//   -> `res_blocks` residual blocks x + conv(relu(conv(relu(x))))
// (the IMPALA ResNet layout), and a final ReLU; its output is flattened in
// [C, H, W] order. Every parameter has a leading learner dimension
// ([G, out, in, k, k] weights, [G, out] biases); Forward runs all G torsos
// as one grouped convolution (groups = G), so learner g only ever sees its
// own inputs and its own weights, and a loss summed over learners gives each
// its own gradient (ClipGradNormPerLearner in grouped_mlp.h clips per
// learner). Weights are drawn uniform in +-1 / sqrt(fan_in) (LibTorch's
// default range) from the caller's generator, layer by layer and learner by
// learner. Thread-compatible; LibTorch errors surface as exceptions.
#ifndef AD_ACTORS_GROUPED_CONV_H_
#define AD_ACTORS_GROUPED_CONV_H_

#include <torch/torch.h>

#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "actors/torch_util.h"

namespace ad::actors {

struct ConvTorsoSpec {
  ImageShape input;           // what each observation is: C x H x W
  std::vector<int> channels;  // per stage (Table 5: 32, 64, 64)
  int kernel = 3;             // conv kernel (Table 5: 3)
  int stride = 1;             // conv stride (Table 5: 1)
  int pool_kernel = 3;        // Table 5: 3
  int pool_stride = 2;        // Table 5: 2
  int res_blocks = 0;         // residual blocks per stage (IMPALA: 2)

  // The torso's output image, C x H x W. INVALID_ARGUMENT (naming the
  // field) if a size is out of range or a stage would shrink the image to
  // nothing.
  absl::StatusOr<ImageShape> OutputShape() const;
};

class GroupedConvTorso {
 public:
  // Dies if spec.OutputShape() is not OK (callers validate first).
  GroupedConvTorso(int groups, const ConvTorsoSpec& spec, std::mt19937_64& rng);

  // Features per observation after the torso.
  int out_width() const { return out_.size(); }

  // x: [G, M, C * H * W] (planar images, as PixelEncoder writes them) ->
  // [G, M, out_width()].
  torch::Tensor Forward(torch::Tensor x) const;

  // Every parameter tensor (leading dimension G), in layer order.
  std::vector<torch::Tensor> parameters() const;

  // Copies every parameter of `other` (same spec and groups) into this one.
  void CopyFrom(const GroupedConvTorso& other);

 private:
  struct Conv {
    torch::Tensor weight;  // [G, out, in, k, k]
    torch::Tensor bias;    // [G, out]
  };
  struct Stage {
    Conv conv;
    std::vector<std::pair<Conv, Conv>> blocks;
  };
  Conv MakeConv(int in, int out, std::mt19937_64& rng) const;
  torch::Tensor Apply(const Conv& conv, const torch::Tensor& x,
                      int stride) const;

  int64_t groups_;
  ConvTorsoSpec spec_;
  ImageShape out_;
  std::vector<Stage> stages_;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_GROUPED_CONV_H_
