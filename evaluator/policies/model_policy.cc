#include "evaluator/policies/model_policy.h"

#include <algorithm>
#include <cmath>
#include <utility>

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
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ModelPolicy>> ModelPolicy::FromModel(
    learner::ADModel model, const Options& options) {
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
  return std::unique_ptr<ModelPolicy>(
      new ModelPolicy(std::move(model), options, max_past));
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
  const int64_t step = checkpoint->step;
  AD_ASSIGN_OR_RETURN(std::unique_ptr<ModelPolicy> policy,
                      FromModel(std::move(checkpoint->model), options));
  policy->step_ = step;
  return policy;
}

absl::Status ModelPolicy::Begin(const envs::SpaceSpec& space,
                                absl::Span<const RowSpec> rows) {
  const learner::ModelOptions& m = model_->options();
  if (space.obs_dim != m.obs_dim) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: env %s has obs_dim %d, the model was trained with %d",
        options_.name, space.family, space.obs_dim, m.obs_dim));
  }
  for (int i = 0; i < space.obs_dim; ++i) {
    if (space.obs_high[i] > m.obs_high[i]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: env %s has obs_high [%s], beyond the model's [%s]",
          options_.name, space.family, absl::StrJoin(space.obs_high, ", "),
          absl::StrJoin(m.obs_high, ", ")));
    }
  }
  if (space.num_actions != m.num_actions) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: env %s has num_actions %d, the model was trained with %d",
        options_.name, space.family, space.num_actions, m.num_actions));
  }
  streams_.clear();
  streams_.reserve(rows.size());
  for (const RowSpec& row : rows) {
    streams_.emplace_back(RowStreamSeed(row, kModelSalt));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> ModelPolicy::Logits(
    const ContextBatch& context) {
  const int rows = context.rows();
  const int obs_dim = context.obs_dim();
  const int past = std::min(context.length(), max_past_);
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
