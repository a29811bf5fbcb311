#include "actors/a3c.h"

#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "actors/discrete_obs.h"
#include "actors/grouped_mlp.h"
#include "actors/torch_util.h"
#include "common/status_macros.h"
#include "learner/torch_status.h"

namespace ad::actors {
namespace {

constexpr char kName[] = "a3c";

class A3cAgent : public SourceAgent {
 public:
  A3cAgent(const TaskSpec& spec, const A3cOptions& options,
           std::unique_ptr<ObservationEncoder> encoder)
      : options_(options),
        encoder_(std::move(encoder)),
        n_(spec.num_streams),
        groups_(options.actors_per_learner == 0
                    ? 1
                    : spec.num_streams / options.actors_per_learner),
        num_actions_(spec.space.num_actions),
        width_(encoder_->width()),
        rng_(StreamRng(spec.seed, /*stream=*/0)),
        features_(static_cast<size_t>(options.rollout_len) * n_ * width_),
        next_features_(static_cast<size_t>(n_) * width_),
        actions_(static_cast<size_t>(options.rollout_len) * n_),
        rewards_(actions_.size()),
        dones_(actions_.size()),
        values_(actions_.size()),
        probs_(static_cast<size_t>(n_) * num_actions_),
        visits_(options.visit_bonus > 0 ? groups_ : 0) {
    std::mt19937_64 init_rng = StreamRng(spec.seed, /*stream=*/1);
    // Policy head initialised policy_init_gain (default 100x) smaller: the
    // first policy is near-uniform. The value head's bias starts at
    // value_init (optimistic when > 0).
    net_ = std::make_unique<GroupedMlp>(
        groups_, width_, options.hidden, options.layers,
        std::vector<GroupedMlp::Head>{
            {num_actions_, options.policy_init_gain, /*bias=*/std::nullopt},
            {/*size=*/1, /*gain=*/1.0, /*bias=*/options.value_init}},
        init_rng);
    optimizer_ = std::make_unique<torch::optim::Adam>(
        net_->parameters(), torch::optim::AdamOptions(options.learning_rate)
                                .betas({options.adam_beta1, options.adam_beta2})
                                .eps(options.adam_eps));
  }

  absl::Status Act(absl::Span<const int32_t> obs,
                   absl::Span<const int32_t> /*expert*/,
                   absl::Span<int32_t> actions) override {
    float* x = features_.data() + static_cast<size_t>(t_) * n_ * width_;
    encoder_->Encode(obs, n_, x);
    return learner::TorchCall(
        [&] {
          torch::NoGradGuard no_grad;
          auto [logits, values] = PolicyAndValue(torch::from_blob(
              x, {groups_, n_ / groups_, width_}, torch::kFloat32));
          torch::Tensor probs =
              torch::softmax(logits, /*dim=*/2).reshape({n_, num_actions_});
          std::memcpy(probs_.data(), probs.data_ptr<float>(),
                      sizeof(float) * probs_.size());
          std::memcpy(values_.data() + static_cast<size_t>(t_) * n_,
                      values.contiguous().data_ptr<float>(),
                      sizeof(float) * n_);
          std::uniform_real_distribution<float> u(0.0f, 1.0f);
          for (int i = 0; i < n_; ++i) {
            const float* p =
                probs_.data() + static_cast<size_t>(i) * num_actions_;
            float draw = u(rng_);
            int a = num_actions_ - 1;
            for (int k = 0; k < num_actions_; ++k) {
              draw -= p[k];
              if (draw < 0) {
                a = k;
                break;
              }
            }
            actions[i] = a;
          }
        },
        "a3c act");
  }

  absl::Status Observe(const StepView& step) override {
    const size_t base = static_cast<size_t>(t_) * n_;
    for (int i = 0; i < n_; ++i) {
      actions_[base + i] = step.actions[i];
      rewards_[base + i] = step.rewards[i] + VisitBonus(step, i);
      dones_[base + i] = step.dones[i];
    }
    if (++t_ < options_.rollout_len) return absl::OkStatus();
    t_ = 0;
    encoder_->Encode(step.next_obs, n_, next_features_.data());
    return learner::TorchCall([&] { Update(); }, "a3c update");
  }

 private:
  // visit_bonus / sqrt(N) for the state stream i arrived in, N counting
  // its learner's entries into that state so far (this one included); 0
  // when the bonus is off or the step ended the episode (next_obs is then
  // the next episode's start, not where the step arrived).
  float VisitBonus(const StepView& step, int i) {
    if (visits_.empty() || step.dones[i] != 0) return 0.0f;
    const size_t dim = step.next_obs.size() / n_;
    const int32_t* s = step.next_obs.data() + static_cast<size_t>(i) * dim;
    std::string key(reinterpret_cast<const char*>(s), dim * sizeof(int32_t));
    const int64_t learner = i / (n_ / groups_);
    const int64_t n = ++visits_[learner][std::move(key)];
    return static_cast<float>(options_.visit_bonus /
                              std::sqrt(static_cast<double>(n)));
  }

  // x: [G, M, width] -> (logits [G, M, A], values [G, M]).
  std::pair<torch::Tensor, torch::Tensor> PolicyAndValue(torch::Tensor x) {
    std::vector<torch::Tensor> out = net_->Forward(std::move(x));
    return {out[0], out[1].squeeze(-1)};
  }

  // One Adam step on the rollout just completed.
  void Update() {
    const int T = options_.rollout_len;
    std::vector<float> bootstrap(n_);
    {
      torch::NoGradGuard no_grad;
      torch::Tensor v =
          PolicyAndValue(torch::from_blob(next_features_.data(),
                                          {groups_, n_ / groups_, width_},
                                          torch::kFloat32))
              .second.contiguous();
      std::memcpy(bootstrap.data(), v.data_ptr<float>(), sizeof(float) * n_);
    }
    // GAE(lambda), backwards in time; an episode end cuts the recursion.
    std::vector<float> advantages(values_.size()), returns(values_.size());
    const float gamma = static_cast<float>(options_.discount);
    const float lambda = static_cast<float>(options_.gae_lambda);
    for (int i = 0; i < n_; ++i) {
      float next_value = bootstrap[i];
      float gae = 0;
      for (int t = T - 1; t >= 0; --t) {
        const size_t k = static_cast<size_t>(t) * n_ + i;
        const float not_done = dones_[k] != 0 ? 0.0f : 1.0f;
        const float delta =
            rewards_[k] + gamma * not_done * next_value - values_[k];
        gae = delta + gamma * lambda * not_done * gae;
        advantages[k] = gae;
        returns[k] = gae + values_[k];
        next_value = values_[k];
      }
    }
    // [T][stream] -> [learner][T * streams per learner]: stream i belongs
    // to learner i / (n / G), and each learner sees only its own streams.
    const int64_t g = groups_;
    const int64_t k = n_ / groups_;
    auto by_learner = [&](torch::Tensor t) {
      std::vector<int64_t> split = {T, g, k};
      std::vector<int64_t> merged = {g, T * k};
      if (t.dim() == 3) {
        split.push_back(t.size(2));
        merged.push_back(t.size(2));
        return t.reshape(split).permute({1, 0, 2, 3}).reshape(merged);
      }
      return t.reshape(split).permute({1, 0, 2}).reshape(merged);
    };
    torch::Tensor x = by_learner(
        torch::from_blob(features_.data(), {T, n_, width_}, torch::kFloat32));
    torch::Tensor a =
        by_learner(torch::from_blob(actions_.data(), {T, n_}, torch::kInt32))
            .to(torch::kLong)
            .unsqueeze(2);
    torch::Tensor adv = by_learner(
        torch::from_blob(advantages.data(), {T, n_}, torch::kFloat32));
    torch::Tensor ret =
        by_learner(torch::from_blob(returns.data(), {T, n_}, torch::kFloat32));
    auto [logits, values] = PolicyAndValue(x);
    torch::Tensor log_probs = torch::log_softmax(logits, /*dim=*/2);
    // Each learner's own mean losses, summed over learners.
    torch::Tensor entropy =
        -(log_probs.exp() * log_probs).sum(/*dim=*/2).mean(1).sum();
    torch::Tensor policy_loss =
        -(log_probs.gather(2, a).squeeze(2) * adv).mean(1).sum();
    torch::Tensor value_loss = 0.5 * (values - ret).pow(2).mean(1).sum();
    torch::Tensor loss = policy_loss + options_.value_cost * value_loss -
                         options_.entropy_cost * entropy;
    optimizer_->zero_grad();
    loss.backward();
    if (options_.max_grad_norm > 0) {
      net_->ClipGradNormPerLearner(options_.max_grad_norm);
    }
    optimizer_->step();
  }

  const A3cOptions options_;
  const std::unique_ptr<ObservationEncoder> encoder_;
  const int n_;       // streams
  const int groups_;  // independent learners, n_ / groups_ streams each
  const int num_actions_;
  const int width_;                  // encoded features per observation
  std::mt19937_64 rng_;              // action sampling
  std::unique_ptr<GroupedMlp> net_;  // heads: policy logits, value
  std::unique_ptr<torch::optim::Adam> optimizer_;
  int t_ = 0;  // step within the rollout
  // The rollout, [rollout_len][stream] (features: [..][width]).
  std::vector<float> features_;
  std::vector<float> next_features_;  // [stream][width], after the last step
  std::vector<int32_t> actions_;
  std::vector<float> rewards_;
  std::vector<uint8_t> dones_;
  std::vector<float> values_;  // V(o_t) at acting time
  std::vector<float> probs_;   // scratch, [stream][action]
  // Per learner: entries into each state (its obs bytes); empty when
  // visit_bonus is 0.
  std::vector<absl::flat_hash_map<std::string, int64_t>> visits_;
};

}  // namespace

absl::StatusOr<A3cOptions> A3cOptions::FromParams(const SourceParams& p) {
  A3cOptions o;
  AD_ASSIGN_OR_RETURN(o.learning_rate,
                      p.Double(kName, "learning_rate", o.learning_rate));
  AD_ASSIGN_OR_RETURN(o.discount, p.Double(kName, "discount", o.discount));
  AD_ASSIGN_OR_RETURN(o.gae_lambda,
                      p.Double(kName, "gae_lambda", o.gae_lambda));
  AD_ASSIGN_OR_RETURN(o.entropy_cost,
                      p.Double(kName, "entropy_cost", o.entropy_cost));
  AD_ASSIGN_OR_RETURN(o.value_cost,
                      p.Double(kName, "value_cost", o.value_cost));
  AD_ASSIGN_OR_RETURN(int64_t rollout,
                      p.Int(kName, "rollout_len", o.rollout_len));
  AD_ASSIGN_OR_RETURN(int64_t hidden, p.Int(kName, "hidden", o.hidden));
  AD_ASSIGN_OR_RETURN(int64_t layers, p.Int(kName, "layers", o.layers));
  AD_ASSIGN_OR_RETURN(o.adam_beta1,
                      p.Double(kName, "adam_beta1", o.adam_beta1));
  AD_ASSIGN_OR_RETURN(o.adam_beta2,
                      p.Double(kName, "adam_beta2", o.adam_beta2));
  AD_ASSIGN_OR_RETURN(o.adam_eps, p.Double(kName, "adam_eps", o.adam_eps));
  AD_ASSIGN_OR_RETURN(o.max_grad_norm,
                      p.Double(kName, "max_grad_norm", o.max_grad_norm));
  AD_ASSIGN_OR_RETURN(o.value_init,
                      p.Double(kName, "value_init", o.value_init));
  AD_ASSIGN_OR_RETURN(o.policy_init_gain,
                      p.Double(kName, "policy_init_gain", o.policy_init_gain));
  AD_ASSIGN_OR_RETURN(o.visit_bonus,
                      p.Double(kName, "visit_bonus", o.visit_bonus));
  AD_ASSIGN_OR_RETURN(int64_t per_learner,
                      p.Int(kName, "actors_per_learner", 0));
  if (per_learner < 0 || per_learner > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("a3c.actors_per_learner is ", per_learner,
                     "; must be in [0, 1e5] (0: all streams share one)"));
  }
  o.actors_per_learner = static_cast<int>(per_learner);
  if (rollout < 1 || rollout > 100000 || hidden < 1 || hidden > 65536 ||
      layers < 1 || layers > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a3c.rollout_len (", rollout, ") must be in [1, 1e5], a3c.hidden (",
        hidden, ") in [1, 65536], a3c.layers (", layers, ") in [1, 64]"));
  }
  o.rollout_len = static_cast<int>(rollout);
  o.hidden = static_cast<int>(hidden);
  o.layers = static_cast<int>(layers);
  AD_RETURN_IF_ERROR(o.Validate());
  return o;
}

absl::Status A3cOptions::Validate() const {
  if (!(learning_rate > 0 && learning_rate < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a3c.learning_rate is ", learning_rate, "; must be in (0, 1)"));
  }
  for (auto [name, v] :
       {std::pair{"discount", discount}, std::pair{"gae_lambda", gae_lambda},
        std::pair{"adam_beta1", adam_beta1},
        std::pair{"adam_beta2", adam_beta2}}) {
    if (!(v >= 0 && v <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("a3c.", name, " is ", v, "; must be in [0, 1]"));
    }
  }
  if (!(entropy_cost >= 0) || !(value_cost >= 0) || !(adam_eps > 0) ||
      !(max_grad_norm >= 0)) {
    return absl::InvalidArgumentError(
        "a3c.entropy_cost, value_cost and max_grad_norm must be >= 0 and "
        "adam_eps > 0");
  }
  if (!(policy_init_gain >= 0 && policy_init_gain <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a3c.policy_init_gain is ", policy_init_gain, "; must be in [0, 100]"));
  }
  if (!std::isfinite(value_init) || std::abs(value_init) > 1e6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a3c.value_init is ", value_init, "; must be finite, |v| <= 1e6"));
  }
  if (!(visit_bonus >= 0 && visit_bonus <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a3c.visit_bonus is ", visit_bonus, "; must be in [0, 100]"));
  }
  if (rollout_len < 1 || hidden < 1 || layers < 1) {
    return absl::InvalidArgumentError(
        "a3c.rollout_len, hidden and layers must be >= 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeA3cAgent(
    const TaskSpec& spec, const SourceParams& params) {
  AD_ASSIGN_OR_RETURN(A3cOptions options, A3cOptions::FromParams(params));
  if (options.actors_per_learner > 0 &&
      spec.num_streams % options.actors_per_learner != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a3c.streams (", spec.num_streams,
                     ") must be a multiple of a3c.actors_per_learner (",
                     options.actors_per_learner, ")"));
  }
  AD_ASSIGN_OR_RETURN(std::unique_ptr<OneHotEncoder> encoder,
                      OneHotEncoder::Create(spec.space));
  std::unique_ptr<SourceAgent> agent;
  AD_RETURN_IF_ERROR(learner::TorchCall(
      [&] {
        agent = std::make_unique<A3cAgent>(spec, options, std::move(encoder));
      },
      "a3c init"));
  return agent;
}

}  // namespace ad::actors
