#include "actors/dqn.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "actors/discrete_obs.h"
#include "actors/grouped_conv.h"
#include "actors/grouped_mlp.h"
#include "actors/torch_util.h"
#include "common/status_macros.h"
#include "learner/torch_status.h"

namespace ad::actors {
namespace {

constexpr char kName[] = "dqn";

// The conv torso `o` describes, for frames of `input`.
ConvTorsoSpec TorsoSpec(const DqnOptions& o, const ImageShape& input) {
  ConvTorsoSpec spec;
  spec.input = input;
  spec.channels = o.conv_channels;
  spec.kernel = o.conv_kernel;
  spec.stride = o.conv_stride;
  spec.pool_kernel = o.pool_kernel;
  spec.pool_stride = o.pool_stride;
  spec.res_blocks = o.conv_res_blocks;
  return spec;
}

// One replayed sequence: L transitions and L + 1 observations, kept as the
// encoder's byte codes (a 72x96x3 frame downsampled 4x: 1296 bytes).
struct Sequence {
  std::vector<uint8_t> codes;  // (L + 1) * width
  std::vector<int32_t> actions;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
};

class DqnAgent : public SourceAgent {
 public:
  // `conv`: the torso in front of the MLP (null: the MLP reads the
  // encoder's features directly).
  DqnAgent(const TaskSpec& spec, const DqnOptions& options,
           std::unique_ptr<ObservationEncoder> encoder,
           const std::optional<ConvTorsoSpec>& conv)
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
        features_(static_cast<size_t>(n_) * width_),
        next_codes_(static_cast<size_t>(n_) * width_) {
    std::mt19937_64 init_rng = StreamRng(spec.seed, /*stream=*/1);
    const std::vector<GroupedMlp::Head> head = {
        {num_actions_, /*gain=*/1.0, /*bias=*/std::nullopt}};
    for (QNet* net : {&online_, &target_}) {
      int in = width_;
      if (conv.has_value()) {
        net->torso =
            std::make_unique<GroupedConvTorso>(groups_, *conv, init_rng);
        in = net->torso->out_width();
      }
      net->mlp = std::make_unique<GroupedMlp>(groups_, in, options.hidden,
                                              options.layers, head, init_rng);
    }
    CopyNet(online_, target_);
    optimizer_ = std::make_unique<torch::optim::Adam>(
        Parameters(online_), torch::optim::AdamOptions(options.learning_rate)
                                 .betas({0.9, 0.999})
                                 .eps(options.adam_eps));
  }

  int64_t updates() const { return updates_; }

  absl::Status Act(absl::Span<const int32_t> obs,
                   absl::Span<const int32_t> /*expert*/,
                   absl::Span<int32_t> actions) override {
    encoder_->Encode(obs, n_, features_.data());
    return learner::TorchCall(
        [&] {
          torch::NoGradGuard no_grad;
          torch::Tensor q =
              QValues(online_, torch::from_blob(features_.data(),
                                                {groups_, n_ / groups_, width_},
                                                torch::kFloat32))
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
    encoder_->EncodeCodes(step.next_obs, n_, next_codes_.data());
    for (int i = 0; i < n_; ++i) {
      Sequence& s = pending_[i];
      if (s.codes.empty()) {
        s.codes.resize(width_);
        encoder_->EncodeCodes(
            step.obs.subspan(static_cast<size_t>(i) * obs_dim_, obs_dim_),
            /*n=*/1, s.codes.data());
      }
      s.actions.push_back(step.actions[i]);
      s.rewards.push_back(step.rewards[i]);
      s.dones.push_back(step.dones[i]);
      const uint8_t* next =
          next_codes_.data() + static_cast<size_t>(i) * width_;
      s.codes.insert(s.codes.end(), next, next + width_);
      episodes_[i] += step.dones[i];
      if (static_cast<int>(s.actions.size()) == L) {
        AddToReplay(i / (n_ / groups_), s);
        s.actions.erase(s.actions.begin(), s.actions.begin() + stride);
        s.rewards.erase(s.rewards.begin(), s.rewards.begin() + stride);
        s.dones.erase(s.dones.begin(), s.dones.begin() + stride);
        s.codes.erase(s.codes.begin(),
                      s.codes.begin() + static_cast<size_t>(stride) * width_);
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
  // A Q-network: an optional conv torso, then the MLP and its Q head.
  struct QNet {
    std::unique_ptr<GroupedConvTorso> torso;
    std::unique_ptr<GroupedMlp> mlp;
  };

  // x: [G, M, width] -> Q-values [G, M, A].
  static torch::Tensor QValues(const QNet& net, torch::Tensor x) {
    if (net.torso != nullptr) x = net.torso->Forward(std::move(x));
    return net.mlp->Forward(std::move(x))[0];
  }

  static std::vector<torch::Tensor> Parameters(const QNet& net) {
    std::vector<torch::Tensor> p;
    if (net.torso != nullptr) p = net.torso->parameters();
    for (const torch::Tensor& t : net.mlp->parameters()) p.push_back(t);
    return p;
  }

  static void CopyNet(const QNet& from, QNet& to) {
    if (from.torso != nullptr) to.torso->CopyFrom(*from.torso);
    to.mlp->CopyFrom(*from.mlp);
  }

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
    std::vector<uint8_t> x(static_cast<size_t>(G) * B * (L + 1) * width_);
    std::vector<int64_t> actions(static_cast<size_t>(G) * B * L);
    std::vector<const Sequence*> batch(static_cast<size_t>(G) * B);
    for (int g = 0; g < G; ++g) {
      std::uniform_int_distribution<size_t> pick(0, replay_[g].size() - 1);
      for (int b = 0; b < B; ++b) {
        const size_t gb = static_cast<size_t>(g) * B + b;
        batch[gb] = &replay_[g][pick(rng_)];
        std::memcpy(x.data() + gb * (L + 1) * width_, batch[gb]->codes.data(),
                    batch[gb]->codes.size());
        for (int t = 0; t < L; ++t) {
          actions[gb * L + t] = batch[gb]->actions[t];
        }
      }
    }
    torch::Tensor features =
        torch::from_blob(x.data(),
                         {G, static_cast<int64_t>(B) * (L + 1), width_},
                         torch::kUInt8)
            .to(torch::kFloat32)
            .mul_(encoder_->code_scale());
    // Max target-network values of o_1 .. o_L.
    std::vector<float> next_max(static_cast<size_t>(G) * B * L);
    {
      torch::NoGradGuard no_grad;
      torch::Tensor q_next =
          std::get<0>(QValues(target_, features)
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
    torch::Tensor q = QValues(online_, features)
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
      ClipGradNormPerLearner(Parameters(online_), G, options_.max_grad_norm);
    }
    optimizer_->step();
    if (++updates_ % options_.target_update_period == 0) {
      CopyNet(online_, target_);
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
  QNet online_;
  QNet target_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::vector<Sequence> pending_;  // per stream, the sequence being filled
  std::vector<int> episodes_;      // completed, per stream
  // Per learner, a ring of at most replay_capacity sequences.
  std::vector<std::vector<Sequence>> replay_;
  std::vector<int> replay_next_;
  int64_t steps_ = 0;
  int64_t updates_ = 0;
  std::vector<float> features_;      // scratch, [stream][width]
  std::vector<uint8_t> next_codes_;  // scratch, [stream][width]
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
  AD_ASSIGN_OR_RETURN(o.torso, p.String(kName, "torso", o.torso));
  AD_ASSIGN_OR_RETURN(
      std::string channels,
      p.String(kName, "conv_channels", absl::StrJoin(o.conv_channels, ",")));
  o.conv_channels.clear();
  for (absl::string_view part : absl::StrSplit(channels, ',')) {
    int c = 0;
    if (!absl::SimpleAtoi(part, &c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("dqn.conv_channels is '", channels,
                       "'; must be comma-separated integers, e.g. 32,64,64"));
    }
    o.conv_channels.push_back(c);
  }
  AD_RETURN_IF_ERROR(get_int("conv_kernel", &o.conv_kernel));
  AD_RETURN_IF_ERROR(get_int("conv_stride", &o.conv_stride));
  AD_RETURN_IF_ERROR(get_int("pool_kernel", &o.pool_kernel));
  AD_RETURN_IF_ERROR(get_int("pool_stride", &o.pool_stride));
  AD_RETURN_IF_ERROR(get_int("conv_res_blocks", &o.conv_res_blocks));
  AD_RETURN_IF_ERROR(get_int("pixel_downsample", &o.pixel_downsample));
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
  if (torso != "mlp" && torso != "conv") {
    return absl::InvalidArgumentError(
        absl::StrCat("dqn.torso is '", torso, "'; must be mlp or conv"));
  }
  if (conv_channels.empty() || conv_channels.size() > 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("dqn.conv_channels has ", conv_channels.size(),
                     " stages; must have 1 to 8"));
  }
  // Sizes only; whether the stages fit the image is checked against the
  // environment's frame in MakeDqnAgent.
  absl::StatusOr<ImageShape> shape =
      TorsoSpec(*this, ImageShape{/*channels=*/1, /*height=*/1 << 12,
                                  /*width=*/1 << 12})
          .OutputShape();
  if (!shape.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dqn.", shape.status().message()));
  }
  if (pixel_downsample < 1 || pixel_downsample > 24) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dqn.pixel_downsample is ", pixel_downsample, "; must be in [1, 24]"));
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
  std::unique_ptr<ObservationEncoder> encoder;
  std::optional<ConvTorsoSpec> conv;
  const bool pixels = PixelShape(spec.space).ok();
  if (options.torso == "conv") {
    absl::StatusOr<std::unique_ptr<PixelEncoder>> pixel_encoder =
        PixelEncoder::Create(spec.space, options.pixel_downsample);
    if (!pixel_encoder.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dqn.torso conv / dqn.pixel_downsample: ",
                       pixel_encoder.status().message()));
    }
    conv = TorsoSpec(options, (*pixel_encoder)->shape());
    absl::StatusOr<ImageShape> out = conv->OutputShape();
    if (!out.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dqn.", out.status().message()));
    }
    encoder = *std::move(pixel_encoder);
  } else if (pixels) {
    return absl::InvalidArgumentError(
        absl::StrCat("dqn.torso is mlp but ", spec.space.family,
                     " observations are pixels; set dqn.torso: conv"));
  } else {
    AD_ASSIGN_OR_RETURN(encoder, OneHotEncoder::Create(spec.space));
  }
  std::unique_ptr<SourceAgent> agent;
  AD_RETURN_IF_ERROR(learner::TorchCall(
      [&] {
        agent =
            std::make_unique<DqnAgent>(spec, options, std::move(encoder), conv);
      },
      "dqn init"));
  return agent;
}

}  // namespace ad::actors
