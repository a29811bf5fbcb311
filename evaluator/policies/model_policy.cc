#include "evaluator/policies/model_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "learner/checkpoint.h"
#include "learner/torch_status.h"

namespace ad::evaluator {
namespace {

constexpr uint64_t kModelSalt = 0x4d4f444c;  // "MODL"

}  // namespace

absl::Status ModelPolicy::Options::Validate() const {
  if (name.empty()) return absl::InvalidArgumentError("name is empty");
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "temperature is %g, want >= 0 (0: greedy)", temperature));
  }
  if (max_past < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "context_len is %d, want >= 0 (0: the model's window)", max_past));
  }
  if (threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threads is %d, want >= 1", threads));
  }
  if (window != "slide" && window != "chunk") {
    return absl::InvalidArgumentError(
        absl::StrFormat("window is '%s', want slide or chunk", window));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ModelPolicy>> ModelPolicy::FromModel(
    learner::ADModel model, const Options& options, int64_t step) {
  AD_RETURN_IF_ERROR(options.Validate());
  const int window = model->options().context_len;
  if (options.max_past > window - 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "context_len is %d transitions, but the model's window is %d tokens "
        "(at most %d past transitions plus the current observation)",
        options.max_past, window, window - 1));
  }
  torch::set_num_threads(options.threads);
  model->eval();
  const int max_past = options.max_past == 0 ? window - 1 : options.max_past;
  auto policy = std::unique_ptr<ModelPolicy>(
      new ModelPolicy(std::move(model), options, max_past));
  policy->step_ = step;
  return policy;
}

absl::StatusOr<std::unique_ptr<ModelPolicy>> ModelPolicy::Load(
    const std::string& checkpoint_path, const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  torch::set_num_threads(options.threads);
  absl::StatusOr<learner::Checkpoint> checkpoint =
      learner::LoadCheckpoint(checkpoint_path);
  if (!checkpoint.ok()) {
    return absl::Status(checkpoint.status().code(),
                        absl::StrFormat("checkpoint %s: %s", checkpoint_path,
                                        checkpoint.status().message()));
  }
  return FromModel(std::move(checkpoint->model), options, checkpoint->step);
}

absl::Status CheckModelFitsSpace(const learner::ModelOptions& m,
                                 const envs::SpaceSpec& space) {
  if (space.obs_dim != m.obs_dim) {
    return absl::InvalidArgumentError(
        absl::StrFormat("env %s has obs_dim %d, the model was trained with %d",
                        space.family, space.obs_dim, m.obs_dim));
  }
  for (int i = 0; i < space.obs_dim; ++i) {
    if (space.obs_high[i] > m.obs_high[i]) {
      return absl::InvalidArgumentError(
          absl::StrFormat("env %s has obs_high [%s], beyond the model's [%s]",
                          space.family, absl::StrJoin(space.obs_high, ", "),
                          absl::StrJoin(m.obs_high, ", ")));
    }
  }
  if (space.num_actions != m.num_actions) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "env %s has num_actions %d, the model was trained with %d",
        space.family, space.num_actions, m.num_actions));
  }
  return absl::OkStatus();
}

absl::Status ModelPolicy::Begin(const envs::SpaceSpec& space,
                                absl::Span<const RowSpec> rows) {
  const learner::ModelOptions& m = model_->options();
  if (absl::Status fits = CheckModelFitsSpace(m, space); !fits.ok()) {
    return absl::Status(fits.code(),
                        absl::StrCat(options_.name, ": ", fits.message()));
  }
  streams_.clear();
  streams_.reserve(rows.size());
  for (const RowSpec& row : rows) {
    streams_.emplace_back(RowStreamSeed(row, kModelSalt));
  }
  cache_len_.assign(rows.size(), 0);
  cache_pushes_.assign(rows.size(), -1);
  keys_.clear();
  values_.clear();
  if (options_.window == "chunk") {
    const int64_t h = m.num_heads;
    const int64_t hd = m.embed_dim / m.num_heads;
    for (int i = 0; i < m.num_layers; ++i) {
      keys_.push_back(torch::zeros(
          {static_cast<int64_t>(rows.size()), h, m.context_len, hd}));
      values_.push_back(torch::zeros_like(keys_.back()));
    }
  }
  return absl::OkStatus();
}

torch::Tensor ModelPolicy::EmbedTokens(const std::vector<int32_t>& obs,
                                       const std::vector<int32_t>& prev_actions,
                                       const std::vector<float>& prev_rewards,
                                       const std::vector<float>& prev_dones,
                                       int b, int t, int pos) {
  const learner::ModelOptions& m = model_->options();
  const auto i32 = torch::TensorOptions().dtype(torch::kInt32);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor o =
      torch::from_blob(const_cast<int32_t*>(obs.data()), {b, t, m.obs_dim}, i32)
          .to(torch::kInt64);
  torch::Tensor a =
      torch::from_blob(const_cast<int32_t*>(prev_actions.data()), {b, t}, i32)
          .to(torch::kInt64);
  a = torch::where(a < 0, torch::full_like(a, m.num_actions), a);
  torch::Tensor r =
      torch::from_blob(const_cast<float*>(prev_rewards.data()), {b, t}, f32);
  torch::Tensor d =
      torch::from_blob(const_cast<float*>(prev_dones.data()), {b, t}, f32);
  torch::Tensor x = model_->obs_encoder->Encode(o);
  x = x + model_->action_embed(a);
  x = x + model_->reward_proj(r.unsqueeze(-1));
  x = torch::addcmul(x, d.unsqueeze(-1), model_->boundary_embed);
  return x + model_->pos_embed->weight.slice(0, pos, pos + t);
}

torch::Tensor ModelPolicy::RunCached(torch::Tensor x, int first, int len) {
  const learner::ModelOptions& m = model_->options();
  const int64_t b = x.size(0);
  const int64_t t = x.size(1);
  const int64_t d = m.embed_dim;
  const int64_t h = m.num_heads;
  const int64_t hd = d / h;
  const int64_t total = len + t;
  // Causal mask of the new queries over cached + new keys.
  torch::Tensor bias;
  if (t > 1) {
    bias = torch::full({t, total}, -std::numeric_limits<float>::infinity())
               .triu(/*diagonal=*/len + 1);
  }
  for (size_t i = 0; i < keys_.size(); ++i) {
    auto block = model_->blocks[i]->as<learner::TransformerBlock>();
    torch::Tensor in = m.post_norm ? x : block->norm1(x);
    torch::Tensor qkv = block->qkv(in);  // [b, t, 3D]
    auto heads = [&](const torch::Tensor& y) {
      return y.reshape({b, t, h, hd}).transpose(1, 2);  // [b, H, t, hd]
    };
    torch::Tensor q = heads(qkv.slice(2, 0, d));
    torch::Tensor k_rows = keys_[i].slice(0, first, first + b);
    torch::Tensor v_rows = values_[i].slice(0, first, first + b);
    k_rows.slice(2, len, total).copy_(heads(qkv.slice(2, d, 2 * d)));
    v_rows.slice(2, len, total).copy_(heads(qkv.slice(2, 2 * d, 3 * d)));
    torch::Tensor k = k_rows.slice(2, 0, total);
    torch::Tensor v = v_rows.slice(2, 0, total);
    torch::Tensor scores =
        torch::matmul(q, k.transpose(2, 3)) / std::sqrt(double(hd));
    if (t > 1) scores = scores + bias;
    torch::Tensor att = torch::matmul(torch::softmax(scores, -1), v)
                            .transpose(1, 2)
                            .reshape({b, t, d});
    att = block->proj(att);
    auto mlp = [&](const torch::Tensor& y) {
      return block->fc2(torch::gelu(block->fc1(y)));
    };
    if (m.post_norm) {
      torch::Tensor mid = block->norm1(x + att);
      x = block->norm2(mid + mlp(mid));
    } else {
      torch::Tensor mid = x + att;
      x = mid + mlp(block->norm2(mid));
    }
  }
  torch::Tensor last = x.slice(1, t - 1, t);
  if (model_->final_norm) last = model_->final_norm(last);
  return model_->head(last).squeeze(1);
}

absl::StatusOr<std::vector<float>> ModelPolicy::CachedLogits(
    const ContextBatch& context) {
  const int rows = context.rows();
  const int first = context.global_row(0);
  const int obs_dim = context.obs_dim();
  // The context length L (see the header): the chunk holds at most L past
  // transitions plus the current observation, never more than the buffer.
  const int max_past = std::min(max_past_, context.capacity());
  // Every row of a call is in the same state (rows advance in lockstep).
  const int len = cache_len_[first];  // tokens cached: past + current
  const bool full = len >= max_past + 1;
  const bool append = cache_pushes_[first] >= 0 &&
                      context.pushes() == cache_pushes_[first] + 1 &&
                      len >= 1 && !full && context.length() >= 1;
  int past = 0;  // transitions before the current observation (rebuild)
  int pos = 0;   // position of the first new token
  if (append) {
    pos = len;
  } else {
    // (Re)build: after the chunk filled, from its last half; otherwise
    // (first call, or not exactly one push since the last) from the last L.
    const bool restart = full && cache_pushes_[first] >= 0 &&
                         context.pushes() == cache_pushes_[first] + 1;
    const int keep = restart ? max_past / 2 : max_past;
    past = std::min(context.length(), keep);
  }
  const int t = append ? 1 : past + 1;
  // Token j observes observation index k = first_k + j: transition k's
  // observation, or the current one when k == length; it carries
  // transition k - 1 unless it opens the window.
  const int first_k = append ? context.length() : context.length() - past;
  std::vector<int32_t> obs(static_cast<size_t>(rows) * t * obs_dim);
  std::vector<int32_t> prev_actions(static_cast<size_t>(rows) * t, -1);
  std::vector<float> prev_rewards(static_cast<size_t>(rows) * t, 0.0f);
  std::vector<float> prev_dones(static_cast<size_t>(rows) * t, 0.0f);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < t; ++j) {
      const size_t at = static_cast<size_t>(r) * t + j;
      const int k = first_k + j;
      absl::Span<const int32_t> o =
          k < context.length() ? context.obs(r, k) : context.current_obs(r);
      std::copy(o.begin(), o.end(), obs.begin() + at * obs_dim);
      if (append || j > 0) {
        prev_actions[at] = context.action(r, k - 1);
        prev_rewards[at] = context.reward(r, k - 1);
        prev_dones[at] = context.done(r, k - 1) ? 1.0f : 0.0f;
      }
    }
  }
  AD_ASSIGN_OR_RETURN(
      std::vector<float> logits,
      learner::TorchCall(
          [&]() -> std::vector<float> {
            torch::NoGradGuard no_grad;
            torch::Tensor x = EmbedTokens(obs, prev_actions, prev_rewards,
                                          prev_dones, rows, t, pos);
            torch::Tensor out =
                RunCached(x, first, pos).to(torch::kFloat32).contiguous();
            return std::vector<float>(out.data_ptr<float>(),
                                      out.data_ptr<float>() + out.numel());
          },
          "cached model forward"));
  for (int r = 0; r < rows; ++r) {
    cache_len_[first + r] = pos + t;
    cache_pushes_[first + r] = context.pushes();
  }
  return logits;
}

absl::StatusOr<std::vector<float>> ModelPolicy::Logits(
    const ContextBatch& context) {
  if (options_.window == "chunk") {
    if (context.global_row(context.rows()) >
        static_cast<int>(cache_len_.size())) {
      return absl::FailedPreconditionError(
          "chunk window: Logits on rows beyond those given to Begin");
    }
    return CachedLogits(context);
  }
  return FullLogits(context, std::min(context.length(), max_past_));
}

absl::StatusOr<std::vector<float>> ModelPolicy::FullLogits(
    const ContextBatch& context, int past) {
  const int rows = context.rows();
  const int obs_dim = context.obs_dim();
  past = std::clamp(past, 0, std::min(context.length(), max_past_));
  const int first = context.length() - past;  // oldest transition used
  const int T = past + 1;
  std::vector<int32_t> obs(static_cast<size_t>(rows) * T * obs_dim);
  std::vector<int32_t> actions(static_cast<size_t>(rows) * T, 0);
  std::vector<float> rewards(static_cast<size_t>(rows) * T, 0.0f);
  std::vector<float> dones(static_cast<size_t>(rows) * T, 0.0f);
  for (int r = 0; r < rows; ++r) {
    for (int t = 0; t < past; ++t) {
      const size_t at = static_cast<size_t>(r) * T + t;
      absl::Span<const int32_t> o = context.obs(r, first + t);
      std::copy(o.begin(), o.end(), obs.begin() + at * obs_dim);
      actions[at] = context.action(r, first + t);
      rewards[at] = context.reward(r, first + t);
      dones[at] = context.done(r, first + t) ? 1.0f : 0.0f;
    }
    // The current observation; its action, reward and done are ignored.
    absl::Span<const int32_t> now = context.current_obs(r);
    std::copy(now.begin(), now.end(),
              obs.begin() + (static_cast<size_t>(r) * T + past) * obs_dim);
  }
  return learner::TorchCall(
      [&]() -> std::vector<float> {
        torch::NoGradGuard no_grad;
        const auto i32 = torch::TensorOptions().dtype(torch::kInt32);
        const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
        torch::Tensor o = torch::from_blob(obs.data(), {rows, T, obs_dim}, i32)
                              .to(torch::kInt64);
        torch::Tensor a =
            torch::from_blob(actions.data(), {rows, T}, i32).to(torch::kInt64);
        torch::Tensor rw = torch::from_blob(rewards.data(), {rows, T}, f32);
        torch::Tensor d = torch::from_blob(dones.data(), {rows, T}, f32);
        learner::ModelInput input =
            learner::TransitionsToInput(o, a, rw, d).To(model_->device());
        torch::Tensor logits = model_->NextActionLogits(input)
                                   .to(torch::kCPU, torch::kFloat32)
                                   .contiguous();
        return std::vector<float>(logits.data_ptr<float>(),
                                  logits.data_ptr<float>() + logits.numel());
      },
      "model forward");
}

absl::Status ModelPolicy::Act(const ContextBatch& context,
                              const envs::BatchedEnv& oracle,
                              absl::Span<int32_t> actions) {
  if (static_cast<int>(actions.size()) != context.rows()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("actions has %d entries for %d context rows",
                        actions.size(), context.rows()));
  }
  if (context.global_row(context.rows()) > static_cast<int>(streams_.size())) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: Act on rows beyond the %d given to Begin",
                        options_.name, streams_.size()));
  }
  AD_ASSIGN_OR_RETURN(std::vector<float> logits, Logits(context));
  const int n = model_->options().num_actions;
  for (int r = 0; r < context.rows(); ++r) {
    const float* row = logits.data() + static_cast<size_t>(r) * n;
    if (options_.temperature == 0.0) {
      actions[r] = static_cast<int32_t>(std::max_element(row, row + n) - row);
      continue;
    }
    const float top = *std::max_element(row, row + n);
    std::vector<double> p(n);
    double total = 0;
    for (int a = 0; a < n; ++a) {
      p[a] = std::exp((row[a] - top) / options_.temperature);
      total += p[a];
    }
    double u = streams_[context.global_row(r)].NextUnit() * total;
    int chosen = n - 1;
    for (int a = 0; a < n; ++a) {
      if (u < p[a]) {
        chosen = a;
        break;
      }
      u -= p[a];
    }
    actions[r] = chosen;
  }
  return absl::OkStatus();
}

}  // namespace ad::evaluator
