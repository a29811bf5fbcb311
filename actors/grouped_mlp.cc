#include "actors/grouped_mlp.h"

#include <algorithm>
#include <cmath>

namespace ad::actors {

GroupedMlp::GroupedMlp(int groups, int in, int hidden, int layers,
                       const std::vector<Head>& heads, std::mt19937_64& rng)
    : groups_(groups) {
  int width = in;
  for (int i = 0; i < layers; ++i) {
    trunk_.push_back(MakeLayer(width, hidden, /*gain=*/1.0, std::nullopt, rng));
    width = hidden;
  }
  for (const Head& head : heads) {
    heads_.push_back(MakeLayer(width, head.size, head.gain, head.bias, rng));
  }
}

std::vector<torch::Tensor> GroupedMlp::Forward(torch::Tensor x) const {
  for (const Layer& layer : trunk_) x = torch::relu(Apply(layer, x));
  std::vector<torch::Tensor> out;
  for (const Layer& head : heads_) out.push_back(Apply(head, x));
  return out;
}

std::vector<torch::Tensor> GroupedMlp::parameters() const {
  std::vector<torch::Tensor> p;
  for (const std::vector<Layer>* layers : {&trunk_, &heads_}) {
    for (const Layer& layer : *layers) {
      p.push_back(layer.weight);
      p.push_back(layer.bias);
    }
  }
  return p;
}

void ClipGradNormPerLearner(const std::vector<torch::Tensor>& params,
                            int groups, double max_norm) {
  torch::NoGradGuard no_grad;
  torch::Tensor sq = torch::zeros({groups});
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) sq += p.grad().pow(2).reshape({groups, -1}).sum(1);
  }
  torch::Tensor scale = (max_norm / (sq.sqrt() + 1e-6)).clamp_max(1.0);
  for (const torch::Tensor& p : params) {
    if (!p.grad().defined()) continue;
    std::vector<int64_t> shape(static_cast<size_t>(p.dim()), 1);
    shape[0] = groups;
    p.grad().mul_(scale.reshape(shape));
  }
}

void GroupedMlp::ClipGradNormPerLearner(double max_norm) const {
  actors::ClipGradNormPerLearner(parameters(), static_cast<int>(groups_),
                                 max_norm);
}

void GroupedMlp::CopyFrom(const GroupedMlp& other) {
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> src = other.parameters();
  std::vector<torch::Tensor> dst = parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

GroupedMlp::Layer GroupedMlp::MakeLayer(int in, int out, double gain,
                                        std::optional<double> bias,
                                        std::mt19937_64& rng) const {
  const double bound = gain / std::sqrt(static_cast<double>(in));
  std::uniform_real_distribution<float> dist(static_cast<float>(-bound),
                                             static_cast<float>(bound));
  std::vector<float> w(static_cast<size_t>(groups_) * out * in);
  std::vector<float> b(static_cast<size_t>(groups_) * out);
  for (int64_t g = 0; g < groups_; ++g) {
    for (int k = 0; k < out * in; ++k) {
      w[static_cast<size_t>(g) * out * in + k] = dist(rng);
    }
    for (int k = 0; k < out; ++k)
      b[static_cast<size_t>(g) * out + k] = dist(rng);
  }
  if (bias.has_value())
    std::fill(b.begin(), b.end(), static_cast<float>(*bias));
  Layer layer;
  layer.weight = torch::from_blob(w.data(), {groups_, out, in}, torch::kFloat32)
                     .clone()
                     .set_requires_grad(true);
  layer.bias = torch::from_blob(b.data(), {groups_, 1, out}, torch::kFloat32)
                   .clone()
                   .set_requires_grad(true);
  return layer;
}

torch::Tensor GroupedMlp::Apply(const Layer& layer, const torch::Tensor& x) {
  return torch::baddbmm(layer.bias, x, layer.weight.transpose(1, 2));
}

}  // namespace ad::actors
