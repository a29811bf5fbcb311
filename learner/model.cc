#include "learner/model.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "learner/fast_dropout.h"
#include "learner/pixel_encoder.h"
#include "learner/torch_status.h"

namespace ad::learner {

namespace F = torch::nn::functional;

ModelInput ModelInput::To(const torch::Device& device) const {
  return {obs.to(device), prev_actions.to(device), prev_rewards.to(device),
          prev_dones.to(device)};
}

ModelInput TransitionsToInput(const torch::Tensor& obs,
                              const torch::Tensor& actions,
                              const torch::Tensor& rewards,
                              const torch::Tensor& dones) {
  CHECK_EQ(obs.dim(), 3) << "obs must be [B, T, obs_dim]";
  CHECK_EQ(actions.dim(), 2) << "actions must be [B, T]";
  CHECK(actions.sizes() == rewards.sizes() && actions.sizes() == dones.sizes())
      << "actions, rewards and dones must have the same shape";
  CHECK(obs.size(0) == actions.size(0) && obs.size(1) == actions.size(1))
      << "obs and actions disagree on [B, T]";
  const int64_t b = actions.size(0);
  const int64_t t = actions.size(1);
  auto shift = [&](const torch::Tensor& x, torch::ScalarType type,
                   double fill) {
    torch::Tensor first = torch::full({b, 1}, fill, x.options().dtype(type));
    if (t == 1) return first;
    return torch::cat({first, x.slice(1, 0, t - 1).to(type)}, 1);
  };
  ModelInput input;
  input.obs = obs.scalar_type() == torch::kByte ? obs : obs.to(torch::kLong);
  input.prev_actions = shift(actions, torch::kLong, -1);
  input.prev_rewards = shift(rewards, torch::kFloat, 0);
  input.prev_dones = shift(dones, torch::kFloat, 0);
  return input;
}

DiscreteObservationEncoder::DiscreteObservationEncoder(
    const std::vector<int32_t>& obs_high, int embed_dim) {
  std::vector<int64_t> offsets(obs_high.size());
  int64_t rows = 0;
  for (size_t i = 0; i < obs_high.size(); ++i) {
    offsets[i] = rows;
    rows += obs_high[i];
  }
  table_ = register_module("table", torch::nn::Embedding(rows, embed_dim));
  offsets_ = register_buffer("offsets", torch::tensor(offsets, torch::kLong));
}

torch::Tensor DiscreteObservationEncoder::Encode(const torch::Tensor& obs) {
  // [B, T, obs_dim] -> [B, T, obs_dim, D] -> sum over components.
  return table_(obs + offsets_).sum(2);
}

absl::StatusOr<std::shared_ptr<ObservationEncoder>> MakeObservationEncoder(
    const ModelOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (options.obs_encoder == "pixel") {
    return std::static_pointer_cast<ObservationEncoder>(
        std::make_shared<PixelObservationEncoder>(options));
  }
  return std::static_pointer_cast<ObservationEncoder>(
      std::make_shared<DiscreteObservationEncoder>(options.obs_high,
                                                   options.embed_dim));
}

TransformerBlockImpl::TransformerBlockImpl(const ModelOptions& options)
    : num_heads_(options.num_heads),
      post_norm_(options.post_norm),
      dropout_(options.dropout),
      attention_dropout_(options.attention_dropout) {
  const int d = options.embed_dim;
  qkv = register_module("qkv", torch::nn::Linear(d, 3 * d));
  proj = register_module("proj", torch::nn::Linear(d, d));
  fc1 = register_module("fc1", torch::nn::Linear(d, options.ff_dim));
  fc2 = register_module("fc2", torch::nn::Linear(options.ff_dim, d));
  norm1 = register_module(
      "norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  norm2 = register_module(
      "norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
}

torch::Tensor TransformerBlockImpl::Attention(const torch::Tensor& x_query,
                                              const torch::Tensor& x_all,
                                              const torch::Tensor& bias) {
  const int64_t b = x_all.size(0);
  const int64_t t = x_all.size(1);
  const int64_t tq = x_query.size(1);
  const int64_t d = x_all.size(2);
  const int64_t hd = d / num_heads_;
  // One matmul for q, k and v of every position, and one copy that splits
  // the heads: [B, T, 3D] -> [3, B, H, T, hd].
  torch::Tensor kqv = qkv(x_all)
                          .view({b, t, 3, num_heads_, hd})
                          .permute({2, 0, 3, 1, 4})
                          .contiguous();
  torch::Tensor q = kqv[0];
  if (tq != t) q = q.slice(2, t - tq, t);
  q = q.reshape({b * num_heads_, tq, hd});
  torch::Tensor k = kqv[1].view({b * num_heads_, t, hd});
  torch::Tensor v = kqv[2].view({b * num_heads_, t, hd});
  // scores = bias + (q k^T) / sqrt(hd) in one fused op.
  torch::Tensor scores =
      torch::baddbmm(bias.expand({b * num_heads_, tq, t}), q, k.transpose(1, 2),
                     /*beta=*/1.0, /*alpha=*/1.0 / std::sqrt(double(hd)));
  torch::Tensor probs = torch::softmax(scores, -1);
  probs = FastDropout(probs, attention_dropout_, is_training());
  torch::Tensor out = torch::bmm(probs, v)  // [B * H, Tq, hd]
                          .reshape({b, num_heads_, tq, hd})
                          .transpose(1, 2)
                          .reshape({b, tq, d});
  return proj(out);
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x,
                                            const torch::Tensor& causal_bias,
                                            bool last_only) {
  const int64_t t = x.size(1);
  torch::Tensor x_query = last_only ? x.slice(1, t - 1, t) : x;
  // The last position attends to every position: its bias row is all zero.
  torch::Tensor bias = last_only ? causal_bias.slice(0, t - 1, t) : causal_bias;
  auto drop = [&](const torch::Tensor& y) {
    return FastDropout(y, dropout_, is_training());
  };
  auto mlp = [&](const torch::Tensor& y) {
    return fc2(drop(torch::gelu(fc1(y))));
  };
  if (post_norm_) {
    torch::Tensor h = norm1(x_query + drop(Attention(x_query, x, bias)));
    return norm2(h + drop(mlp(h)));
  }
  torch::Tensor n = norm1(x);
  torch::Tensor n_query = last_only ? n.slice(1, t - 1, t) : n;
  torch::Tensor h = x_query + drop(Attention(n_query, n, bias));
  return h + drop(mlp(norm2(h)));
}

ADModelImpl::ADModelImpl(const ModelOptions& options) : options_(options) {
  absl::Status valid = options.Validate();
  CHECK(valid.ok()) << valid;
  const int d = options.embed_dim;
  auto encoder = MakeObservationEncoder(options);
  CHECK(encoder.ok()) << encoder.status();
  obs_encoder = register_module("obs_encoder", *encoder);
  action_embed = register_module(
      "action_embed", torch::nn::Embedding(options.num_actions + 1, d));
  reward_proj = register_module("reward_proj", torch::nn::Linear(1, d));
  boundary_embed = register_parameter("boundary_embed", torch::zeros({d}));
  mask_embed = register_parameter("mask_embed", torch::zeros({d}));
  pos_embed = register_module("pos_embed",
                              torch::nn::Embedding(options.context_len, d));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < options.num_layers; ++i) {
    blocks->push_back(TransformerBlock(options));
  }
  if (!options.post_norm) {
    final_norm = register_module(
        "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  }
  head = register_module("head", torch::nn::Linear(d, options.num_actions));
  const int64_t c = options.context_len;
  causal_bias_ = register_buffer(
      "causal_bias",
      torch::full({c, c}, -std::numeric_limits<float>::infinity())
          .triu(/*diagonal=*/1));

  // GPT-style initialisation.
  torch::NoGradGuard no_grad;
  const bool encoder_own_init = obs_encoder->InitializesItself();
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    if (encoder_own_init && name.rfind("obs_encoder.", 0) == 0) continue;
    torch::Tensor& w = p.value();
    if (name.find("norm") != std::string::npos) continue;  // LayerNorm: 1, 0
    if (w.dim() == 1 && name.find("bias") != std::string::npos) {
      w.zero_();
    } else {
      w.normal_(0.0, 0.02);
    }
  }
}

torch::Tensor ADModelImpl::CausalBias(int64_t t) {
  return causal_bias_.slice(0, 0, t).slice(1, 0, t);
}

torch::Tensor ADModelImpl::Embed(const ModelInput& input) {
  const int64_t t = input.obs.size(1);
  TORCH_CHECK_INDEX(t >= 1 && t <= options_.context_len, "window of ", t,
                    " transitions; the model takes 1 .. ",
                    options_.context_len);
  torch::Tensor x = obs_encoder->Encode(input.obs);
  x = x + action_embed(torch::where(
              input.prev_actions < 0,
              torch::full_like(input.prev_actions, options_.num_actions),
              input.prev_actions));
  x = x + reward_proj(input.prev_rewards.unsqueeze(-1));
  x = torch::addcmul(x, input.prev_dones.unsqueeze(-1), boundary_embed);
  if (is_training() && options_.sequence_mask_prob > 0) {
    torch::Tensor masked = torch::empty({x.size(0), t, 1}, x.options())
                               .bernoulli_(options_.sequence_mask_prob);
    x = torch::lerp(x, mask_embed.expand_as(x), masked);
  }
  x = x + pos_embed->weight.slice(0, 0, t);
  if (options_.dropout > 0) {
    x = FastDropout(x, options_.dropout, is_training());
  }
  return x;
}

torch::Tensor ADModelImpl::forward(const torch::Tensor& obs,
                                   const torch::Tensor& prev_actions,
                                   const torch::Tensor& prev_rewards,
                                   const torch::Tensor& prev_dones) {
  return Forward({obs, prev_actions, prev_rewards, prev_dones});
}

torch::Tensor ADModelImpl::Forward(const ModelInput& input) {
  torch::Tensor x = Embed(input);
  torch::Tensor bias = CausalBias(x.size(1));
  for (const auto& block : *blocks) {
    x = block->as<TransformerBlock>()->forward(x, bias);
  }
  if (final_norm) x = final_norm(x);
  return head(x);
}

torch::Tensor ADModelImpl::NextActionLogits(const ModelInput& input) {
  torch::Tensor x = Embed(input);
  torch::Tensor bias = CausalBias(x.size(1));
  const size_t n = blocks->size();
  for (size_t i = 0; i < n; ++i) {
    x = blocks[i]->as<TransformerBlock>()->forward(x, bias,
                                                   /*last_only=*/i + 1 == n);
  }
  if (final_norm) x = final_norm(x);
  return head(x).squeeze(1);
}

int64_t ADModelImpl::NumParameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

absl::StatusOr<ADModel> CreateModel(const ModelOptions& options,
                                    const torch::Device& device) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  return TorchCall(
      [&] {
        ADModel model(options);
        model->to(device);
        return model;
      },
      "CreateModel");
}

}  // namespace ad::learner
