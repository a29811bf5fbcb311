#include "actors/dqn.h"

#include <torch/torch.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actors/discrete_obs.h"
#include "actors/grouped_mlp.h"
#include "actors/torch_util.h"
#include "common/status_macros.h"
#include "learner/torch_status.h"

namespace ad::actors {
namespace {

constexpr char kName[] = "dqn";

// One replayed sequence: L transitions and L + 1 observations.
struct Sequence {
  std::vector<int32_t> obs;  // (L + 1) * obs_dim
  std::vector<int32_t> actions;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
};

class DqnAgent : public SourceAgent {
 public:
  DqnAgent(const TaskSpec& spec, const DqnOptions& options,
           std::unique_ptr<ObservationEncoder> encoder)
      : options_(options),
        encoder_(std::move(encoder)),
        n_(spec.num_streams),
        groups_(options.actors_per_learner == 0
                    ? 1
                    : spec.num_streams / options.actors_per_learner),
        num_actions_(spec.space.num_actions),
        obs_dim_(spec.space.obs_dim),
        width_(encoder_->width()),
        decay_episodes_(std::max(
            1.0, options.epsilon_decay_fraction * spec.episodes_per_stream)),
        rng_(StreamRng(spec.seed, /*stream=*/0)),
        pending_(spec.num_streams),
        episodes_(spec.num_streams, 0),
        replay_(groups_),
        replay_next_(groups_, 0),
        features_(static_cast<size_t>(n_) * width_) {
    std::mt19937_64 init_rng = StreamRng(spec.seed, /*stream=*/1);
    const std::vector<GroupedMlp::Head> head = {
        {num_actions_, /*gain=*/1.0, /*bias=*/std::nullopt}};
    online_ = std::make_unique<GroupedMlp>(groups_, width_, options.hidden,
                                           options.layers, head, init_rng);
    target_ = std::make_unique<GroupedMlp>(groups_, width_, options.hidden,
                                           options.layers, head, init_rng);
    target_->CopyFrom(*online_);
    optimizer_ = std::make_unique<torch::optim::Adam>(
        online_->parameters(), torch::optim::AdamOptions(options.learning_rate)
                                   .betas({0.9, 0.999})
                                   .eps(options.adam_eps));
  }

  absl::Status Act(absl::Span<const int32_t> obs,
                   absl::Span<const int32_t> /*expert*/,
                   absl::Span<int32_t> actions) override {
    encoder_->Encode(obs, n_, features_.data());
    return learner::TorchCall(
        [&] {
          torch::NoGradGuard no_grad;
          torch::Tensor q =
              online_
                  ->Forward(torch::from_blob(features_.data(),
                                             {groups_, n_ / groups_, width_},
                                             torch::kFloat32))[0]
                  .contiguous();
          const float* qs = q.data_ptr<float>();
          std::uniform_real_distribution<double> u(0, 1);
          for (int i = 0; i < n_; ++i) {
            const double frac = std::min(1.0, episodes_[i] / decay_episodes_);
            const double eps =
                options_.epsilon_start +
                frac * (options_.epsilon_end - options_.epsilon_start);
            if (u(rng_) < eps) {
              actions[i] =
                  std::uniform_int_distribution<int>(0, num_actions_ - 1)(rng_);
            } else {
              actions[i] = ArgmaxRandomTie(
                  absl::MakeConstSpan(
                      qs + static_cast<size_t>(i) * num_actions_, num_actions_),
                  rng_);
            }
          }
        },
        "dqn act");
  }

  absl::Status Observe(const StepView& step) override {
    const int L = options_.sequence_len;
    const int stride = L - options_.sequence_overlap;
    for (int i = 0; i < n_; ++i) {
      Sequence& s = pending_[i];
      auto o = step.obs.subspan(static_cast<size_t>(i) * obs_dim_, obs_dim_);
      auto next =
          step.next_obs.subspan(static_cast<size_t>(i) * obs_dim_, obs_dim_);
      if (s.obs.empty()) s.obs.assign(o.begin(), o.end());
      s.actions.push_back(step.actions[i]);
      s.rewards.push_back(step.rewards[i]);
      s.dones.push_back(step.dones[i]);
      s.obs.insert(s.obs.end(), next.begin(), next.end());
      episodes_[i] += step.dones[i];
      if (static_cast<int>(s.actions.size()) == L) {
        AddToReplay(i / (n_ / groups_), s);
        s.actions.erase(s.actions.begin(), s.actions.begin() + stride);
        s.rewards.erase(s.rewards.begin(), s.rewards.begin() + stride);
        s.dones.erase(s.dones.begin(), s.dones.begin() + stride);
        s.obs.erase(s.obs.begin(),
                    s.obs.begin() + static_cast<size_t>(stride) * obs_dim_);
      }
    }
    if (++steps_ % options_.train_every != 0 ||
        // Streams step together, so every learner's replay fills alike.
        static_cast<int>(replay_[0].size()) < options_.min_replay) {
      return absl::OkStatus();
    }
    return learner::TorchCall([&] { Update(); }, "dqn update");
  }

 private:
  void AddToReplay(int learner, const Sequence& s) {
    std::vector<Sequence>& replay = replay_[learner];
    int& next = replay_next_[learner];
    if (static_cast<int>(replay.size()) < options_.replay_capacity) {
      replay.push_back(s);
    } else {
      replay[next] = s;
    }
    next = (next + 1) % options_.replay_capacity;
  }

  // One Adam step per learner, each on `batch_size` sequences of its own
  // replay.
  void Update() {
    const int G = groups_;
    const int B = options_.batch_size;
    const int L = options_.sequence_len;
    std::vector<float> x(static_cast<size_t>(G) * B * (L + 1) * width_);
    std::vector<int64_t> actions(static_cast<size_t>(G) * B * L);
    std::vector<const Sequence*> batch(static_cast<size_t>(G) * B);
    for (int g = 0; g < G; ++g) {
      std::uniform_int_distribution<size_t> pick(0, replay_[g].size() - 1);
      for (int b = 0; b < B; ++b) {
        const size_t gb = static_cast<size_t>(g) * B + b;
        batch[gb] = &replay_[g][pick(rng_)];
        encoder_->Encode(batch[gb]->obs, L + 1,
                         x.data() + gb * (L + 1) * width_);
        for (int t = 0; t < L; ++t) {
          actions[gb * L + t] = batch[gb]->actions[t];
        }
      }
    }
    torch::Tensor features = torch::from_blob(
        x.data(), {G, static_cast<int64_t>(B) * (L + 1), width_},
        torch::kFloat32);
    // Max target-network values of o_1 .. o_L.
    std::vector<float> next_max(static_cast<size_t>(G) * B * L);
    {
      torch::NoGradGuard no_grad;
      torch::Tensor q_next =
          std::get<0>(target_->Forward(features)[0]
                          .reshape({G, B, L + 1, num_actions_})
                          .slice(2, 1, L + 1)
                          .max(/*dim=*/3))
              .contiguous();
      std::memcpy(next_max.data(), q_next.data_ptr<float>(),
                  sizeof(float) * next_max.size());
    }
    // Peng's Q(lambda) returns, backwards along each sequence.
    std::vector<float> targets(next_max.size());
    const float gamma = static_cast<float>(options_.discount);
    const float lambda = static_cast<float>(options_.lambda);
    for (size_t gb = 0; gb < batch.size(); ++gb) {
      float g = next_max[gb * L + L - 1];
      for (int t = L - 1; t >= 0; --t) {
        const size_t k = gb * L + t;
        const float not_done = batch[gb]->dones[t] != 0 ? 0.0f : 1.0f;
        const float blend =
            t == L - 1 ? next_max[k] : (1 - lambda) * next_max[k] + lambda * g;
        g = batch[gb]->rewards[t] + gamma * not_done * blend;
        targets[k] = g;
      }
    }
    torch::Tensor q = online_->Forward(features)[0]
                          .reshape({G, B, L + 1, num_actions_})
                          .slice(2, 0, L);  // [G, B, L, A]
    torch::Tensor a =
        torch::from_blob(actions.data(), {G, B, L, 1}, torch::kLong);
    torch::Tensor q_taken = q.gather(3, a).squeeze(3);
    torch::Tensor target =
        torch::from_blob(targets.data(), {G, B, L}, torch::kFloat32);
    // Each learner's own mean Huber loss, summed over learners.
    torch::Tensor loss =
        torch::smooth_l1_loss(q_taken, target, at::Reduction::None)
            .reshape({G, -1})
            .mean(1)
            .sum();
    optimizer_->zero_grad();
    loss.backward();
    if (options_.max_grad_norm > 0) {
      online_->ClipGradNormPerLearner(options_.max_grad_norm);
    }
    optimizer_->step();
    if (++updates_ % options_.target_update_period == 0) {
      target_->CopyFrom(*online_);
    }
  }

  const DqnOptions options_;
  const std::unique_ptr<ObservationEncoder> encoder_;
  const int n_;
  const int groups_;  // independent learners, n_ / groups_ streams each
  const int num_actions_;
  const int obs_dim_;
  const int width_;
  const double decay_episodes_;
  std::mt19937_64 rng_;  // exploration and replay sampling
  std::unique_ptr<GroupedMlp> online_;
  std::unique_ptr<GroupedMlp> target_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::vector<Sequence> pending_;  // per stream, the sequence being filled
  std::vector<int> episodes_;      // completed, per stream
  // Per learner, a ring of at most replay_capacity sequences.
  std::vector<std::vector<Sequence>> replay_;
  std::vector<int> replay_next_;
  int64_t steps_ = 0;
  int64_t updates_ = 0;
  std::vector<float> features_;  // scratch, [stream][width]
};

}  // namespace

absl::StatusOr<DqnOptions> DqnOptions::FromParams(const SourceParams& p) {
  DqnOptions o;
  auto get_int = [&](const char* key, int* field) -> absl::Status {
    AD_ASSIGN_OR_RETURN(int64_t v, p.Int(kName, key, *field));
    if (v < 0 || v > (1 << 30)) {
      return absl::InvalidArgumentError(
          absl::StrCat("dqn.", key, " is ", v, "; must be in [0, 2^30]"));
    }
    *field = static_cast<int>(v);
    return absl::OkStatus();
  };
  AD_ASSIGN_OR_RETURN(o.learning_rate,
                      p.Double(kName, "learning_rate", o.learning_rate));
  AD_ASSIGN_OR_RETURN(o.discount, p.Double(kName, "discount", o.discount));
  AD_ASSIGN_OR_RETURN(o.lambda, p.Double(kName, "lambda", o.lambda));
  AD_RETURN_IF_ERROR(get_int("hidden", &o.hidden));
  AD_RETURN_IF_ERROR(get_int("layers", &o.layers));
  AD_RETURN_IF_ERROR(get_int("batch_size", &o.batch_size));
  AD_RETURN_IF_ERROR(get_int("sequence_len", &o.sequence_len));
  AD_RETURN_IF_ERROR(get_int("sequence_overlap", &o.sequence_overlap));
  AD_RETURN_IF_ERROR(get_int("replay_capacity", &o.replay_capacity));
  AD_RETURN_IF_ERROR(get_int("min_replay", &o.min_replay));
  AD_RETURN_IF_ERROR(get_int("train_every", &o.train_every));
  AD_RETURN_IF_ERROR(get_int("target_update_period", &o.target_update_period));
  AD_RETURN_IF_ERROR(get_int("actors_per_learner", &o.actors_per_learner));
  AD_ASSIGN_OR_RETURN(o.epsilon_start,
                      p.Double(kName, "epsilon_start", o.epsilon_start));
  AD_ASSIGN_OR_RETURN(o.epsilon_end,
                      p.Double(kName, "epsilon_end", o.epsilon_end));
  AD_ASSIGN_OR_RETURN(
      o.epsilon_decay_fraction,
      p.Double(kName, "epsilon_decay_fraction", o.epsilon_decay_fraction));
  AD_ASSIGN_OR_RETURN(o.max_grad_norm,
                      p.Double(kName, "max_grad_norm", o.max_grad_norm));
  AD_ASSIGN_OR_RETURN(o.adam_eps, p.Double(kName, "adam_eps", o.adam_eps));
  AD_RETURN_IF_ERROR(o.Validate());
  return o;
}

absl::Status DqnOptions::Validate() const {
  if (!(learning_rate > 0 && learning_rate < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dqn.learning_rate is ", learning_rate, "; must be in (0, 1)"));
  }
  for (auto [name, v] :
       {std::pair{"discount", discount}, std::pair{"lambda", lambda},
        std::pair{"epsilon_start", epsilon_start},
        std::pair{"epsilon_end", epsilon_end},
        std::pair{"epsilon_decay_fraction", epsilon_decay_fraction}}) {
    if (!(v >= 0 && v <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("dqn.", name, " is ", v, "; must be in [0, 1]"));
    }
  }
  if (hidden < 1 || layers < 1 || batch_size < 1 || sequence_len < 1 ||
      train_every < 1 || target_update_period < 1 || replay_capacity < 1 ||
      min_replay < 1) {
    return absl::InvalidArgumentError(
        "dqn.hidden, layers, batch_size, sequence_len, train_every, "
        "target_update_period, replay_capacity and min_replay must be >= 1");
  }
  if (sequence_overlap >= sequence_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("dqn.sequence_overlap (", sequence_overlap,
                     ") must be below dqn.sequence_len (", sequence_len, ")"));
  }
  if (min_replay > replay_capacity) {
    return absl::InvalidArgumentError(
        absl::StrCat("dqn.min_replay (", min_replay,
                     ") exceeds dqn.replay_capacity (", replay_capacity, ")"));
  }
  if (!(max_grad_norm >= 0) || !(adam_eps > 0)) {
    return absl::InvalidArgumentError(
        "dqn.max_grad_norm must be >= 0 and dqn.adam_eps > 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeDqnAgent(
    const TaskSpec& spec, const SourceParams& params) {
  AD_ASSIGN_OR_RETURN(DqnOptions options, DqnOptions::FromParams(params));
  if (options.actors_per_learner > 0 &&
      spec.num_streams % options.actors_per_learner != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("dqn.streams (", spec.num_streams,
                     ") must be a multiple of dqn.actors_per_learner (",
                     options.actors_per_learner, ")"));
  }
  AD_ASSIGN_OR_RETURN(std::unique_ptr<OneHotEncoder> encoder,
                      OneHotEncoder::Create(spec.space));
  std::unique_ptr<SourceAgent> agent;
  AD_RETURN_IF_ERROR(learner::TorchCall(
      [&] {
        agent = std::make_unique<DqnAgent>(spec, options, std::move(encoder));
      },
      "dqn init"));
  return agent;
}

}  // namespace ad::actors
