#include "actors/grouped_conv.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace ad::actors {

absl::StatusOr<ImageShape> ConvTorsoSpec::OutputShape() const {
  if (input.channels < 1 || input.height < 1 || input.width < 1) {
    return absl::InvalidArgumentError("conv torso input image is empty");
  }
  if (channels.empty()) {
    return absl::InvalidArgumentError("conv channels: at least one stage");
  }
  for (auto [name, v] :
       {std::pair{"conv_kernel", kernel}, std::pair{"conv_stride", stride},
        std::pair{"pool_kernel", pool_kernel},
        std::pair{"pool_stride", pool_stride}}) {
    if (v < 1 || v > 15) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " is ", v, "; must be in [1, 15]"));
    }
  }
  if (res_blocks < 0 || res_blocks > 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("conv_res_blocks is ", res_blocks, "; must be in [0, 8]"));
  }
  ImageShape shape = input;
  for (size_t s = 0; s < channels.size(); ++s) {
    if (channels[s] < 1 || channels[s] > 1024) {
      return absl::InvalidArgumentError(absl::StrCat("conv_channels entry ", s,
                                                     " is ", channels[s],
                                                     "; must be in [1, 1024]"));
    }
    for (int* d : {&shape.height, &shape.width}) {
      *d = (*d + 2 * (kernel / 2) - kernel) / stride + 1;
      *d = (*d + 2 * (pool_kernel / 2) - pool_kernel) / pool_stride + 1;
    }
    if (shape.height < 1 || shape.width < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("conv stage ", s, " shrinks the ", input.height, " x ",
                       input.width, " input to nothing"));
    }
    shape.channels = channels[s];
  }
  return shape;
}

GroupedConvTorso::GroupedConvTorso(int groups, const ConvTorsoSpec& spec,
                                   std::mt19937_64& rng)
    : groups_(groups), spec_(spec) {
  absl::StatusOr<ImageShape> out = spec.OutputShape();
  CHECK(out.ok()) << out.status();
  out_ = *out;
  int in = spec.input.channels;
  for (int c : spec.channels) {
    Stage stage;
    stage.conv = MakeConv(in, c, rng);
    for (int b = 0; b < spec.res_blocks; ++b) {
      Conv first = MakeConv(c, c, rng);
      stage.blocks.emplace_back(std::move(first), MakeConv(c, c, rng));
    }
    stages_.push_back(std::move(stage));
    in = c;
  }
}

torch::Tensor GroupedConvTorso::Forward(torch::Tensor x) const {
  const ImageShape& im = spec_.input;
  const int64_t m = x.size(1);
  // [G, M, C*H*W] -> [M, G*C, H, W]: learner g owns channels g*C .. g*C+C-1.
  x = x.reshape({groups_, m, im.channels, im.height, im.width})
          .transpose(0, 1)
          .reshape({m, groups_ * im.channels, im.height, im.width});
  const int pk = spec_.pool_kernel;
  for (const Stage& stage : stages_) {
    x = Apply(stage.conv, x, spec_.stride);
    x = torch::max_pool2d(x, {pk, pk}, {spec_.pool_stride, spec_.pool_stride},
                          {pk / 2, pk / 2});
    for (const auto& [first, second] : stage.blocks) {
      torch::Tensor y = Apply(first, torch::relu(x), /*stride=*/1);
      x = x + Apply(second, torch::relu(y), /*stride=*/1);
    }
  }
  x = torch::relu(x);
  return x.reshape({m, groups_, out_.size()}).transpose(0, 1).contiguous();
}

std::vector<torch::Tensor> GroupedConvTorso::parameters() const {
  std::vector<torch::Tensor> p;
  for (const Stage& stage : stages_) {
    p.push_back(stage.conv.weight);
    p.push_back(stage.conv.bias);
    for (const auto& [first, second] : stage.blocks) {
      for (const Conv* conv : {&first, &second}) {
        p.push_back(conv->weight);
        p.push_back(conv->bias);
      }
    }
  }
  return p;
}

void GroupedConvTorso::CopyFrom(const GroupedConvTorso& other) {
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> src = other.parameters();
  std::vector<torch::Tensor> dst = parameters();
  CHECK_EQ(src.size(), dst.size());
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

GroupedConvTorso::Conv GroupedConvTorso::MakeConv(int in, int out,
                                                  std::mt19937_64& rng) const {
  const int k = spec_.kernel;
  const int64_t fan_in = static_cast<int64_t>(in) * k * k;
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  std::uniform_real_distribution<float> dist(static_cast<float>(-bound),
                                             static_cast<float>(bound));
  std::vector<float> w(static_cast<size_t>(groups_) * out * fan_in);
  std::vector<float> b(static_cast<size_t>(groups_) * out);
  for (int64_t g = 0; g < groups_; ++g) {
    for (int64_t j = 0; j < out * fan_in; ++j) {
      w[static_cast<size_t>(g * out * fan_in + j)] = dist(rng);
    }
    for (int j = 0; j < out; ++j)
      b[static_cast<size_t>(g * out + j)] = dist(rng);
  }
  Conv conv;
  conv.weight =
      torch::from_blob(w.data(), {groups_, out, in, k, k}, torch::kFloat32)
          .clone()
          .set_requires_grad(true);
  conv.bias = torch::from_blob(b.data(), {groups_, out}, torch::kFloat32)
                  .clone()
                  .set_requires_grad(true);
  return conv;
}

torch::Tensor GroupedConvTorso::Apply(const Conv& conv, const torch::Tensor& x,
                                      int stride) const {
  const int64_t out = conv.weight.size(1);
  const int64_t in = conv.weight.size(2);
  const int k = spec_.kernel;
  return torch::conv2d(x, conv.weight.reshape({groups_ * out, in, k, k}),
                       conv.bias.reshape({groups_ * out}), {stride, stride},
                       {k / 2, k / 2}, /*dilation=*/{1, 1}, groups_);
}

}  // namespace ad::actors
