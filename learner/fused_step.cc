// The fused training step (fused_step.h): set-up, input checks and the
// whole forward-backward step. The engine is split by seam:
// fused_step_kernels.{h,cc} (raw float kernels, vectorised),
// fused_step_ops.{h,cc} (linear layers and LayerNorm on tensors), and
// fused_step_internal.h with fused_step_layers.cc (the step's state and the
// forward and backward of each part of the model).
#include "learner/fused_step.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "learner/fused_step_internal.h"
#include "learner/fused_step_kernels.h"
#include "learner/fused_step_ops.h"
#include "learner/pixel_encoder.h"
#include "learner/torch_status.h"

namespace ad::learner {

using fused_internal::DropRange;
using fused_internal::Empty;
using fused_internal::LayerNorm;
using fused_internal::LayerNormBackward;
using fused_internal::LayerNormParams;
using fused_internal::Linear;
using fused_internal::LinearBackward;
using fused_internal::MakeSite;
using fused_internal::SingleThreadedBlas;
using fused_internal::Site;
using fused_internal::SiteKey;

void FusedTrainingStep::Impl::Allocate(int64_t batch, int64_t window) {
  if (batch == b && window == t) return;
  b = batch;
  t = window;
  n = b * t;
  const int64_t d = o.embed_dim, f = o.ff_dim;
  const int64_t bh = b * o.num_heads;
  x0 = Empty({n, d});
  acts.assign(layers.size(), Activations());
  for (Activations& a : acts) {
    a.xhat1 = Empty({n, d});
    a.rstd1 = Empty({n});
    a.qkv = Empty({n, 3 * d});
    a.probs = Empty({bh, t, t});
    a.att = Empty({n, d});
    a.xhat2 = Empty({n, d});
    a.rstd2 = Empty({n});
    a.f = Empty({n, f});
    a.h = Empty({n, d});
    a.out = Empty({n, d});
    if (o.post_norm) {
      a.n1 = a.h;
      a.n2 = a.out;
    } else {
      a.n1 = Empty({n, d});
      a.n2 = Empty({n, d});
    }
  }
  if (!o.post_norm) {
    xhat_f = Empty({n, d});
    rstd_f = Empty({n});
    z = Empty({n, d});
  }
  logits = Empty({n, o.num_actions});
  dlogits = Empty({n, o.num_actions});
  s1 = Empty({n, d});
  s2 = Empty({n, d});
  sf = Empty({n, f});
  sf2 = Empty({n, f});
  dqkv = Empty({n, 3 * d});
  dx = Empty({n, d});
  masked.assign(n, 0);
  row_loss.assign(n, 0);
  row_correct.assign(n, 0);
}

absl::Status FusedTrainingStep::Impl::CheckInput(
    const ModelInput& input, const torch::Tensor& targets) const {
  const torch::Tensor& obs = input.obs;
  if (obs.dim() != 3 || obs.size(2) != o.obs_dim ||
      obs.scalar_type() != torch::kLong || !obs.is_cpu()) {
    return absl::InvalidArgumentError(
        absl::StrCat("obs must be int64 [B, T, ", o.obs_dim, "] on CPU"));
  }
  const int64_t batch = obs.size(0), window = obs.size(1);
  if (window < 1 || window > o.context_len || batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("window of ", window, " transitions, batch ", batch,
                     ": the model takes 1 .. ", o.context_len));
  }
  auto check = [&](const torch::Tensor& x, torch::ScalarType type,
                   const char* name) -> absl::Status {
    if (x.dim() != 2 || x.size(0) != batch || x.size(1) != window ||
        x.scalar_type() != type || !x.is_cpu()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be ", c10::toString(type), " [", batch,
                       ", ", window, "] on CPU"));
    }
    return absl::OkStatus();
  };
  for (absl::Status s :
       {check(input.prev_actions, torch::kLong, "prev_actions"),
        check(input.prev_rewards, torch::kFloat, "prev_rewards"),
        check(input.prev_dones, torch::kFloat, "prev_dones"),
        check(targets, torch::kLong, "targets")}) {
    if (!s.ok()) return s;
  }
  const torch::Tensor obs_c = obs.contiguous();
  const int64_t* po = obs_c.data_ptr<int64_t>();
  for (int64_t i = 0; i < obs_c.numel(); ++i) {
    const int64_t high = o.obs_high[i % o.obs_dim];
    if (po[i] < 0 || po[i] >= high) {
      return absl::InvalidArgumentError(
          absl::StrCat("obs component ", i % o.obs_dim, " = ", po[i],
                       ": must be in [0, ", high, ")"));
    }
  }
  const torch::Tensor act = input.prev_actions.contiguous();
  const torch::Tensor tgt = targets.contiguous();
  const int64_t* pa = act.data_ptr<int64_t>();
  const int64_t* pt = tgt.data_ptr<int64_t>();
  for (int64_t i = 0; i < act.numel(); ++i) {
    if (pa[i] >= o.num_actions) {
      return absl::InvalidArgumentError(
          absl::StrCat("prev_actions = ", pa[i], ": must be < ", o.num_actions,
                       " (negative: none)"));
    }
    if (pt[i] < 0 || pt[i] >= o.num_actions) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target = ", pt[i], ": must be in [0, ", o.num_actions, ")"));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

FusedTrainingStep::FusedTrainingStep(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
FusedTrainingStep::~FusedTrainingStep() = default;

absl::StatusOr<std::unique_ptr<FusedTrainingStep>> FusedTrainingStep::Create(
    ADModel model) {
  if (!model->device().is_cpu()) {
    return absl::UnimplementedError("the fused training step runs on CPU only");
  }
  for (const torch::Tensor& p : model->parameters()) {
    if (p.scalar_type() != torch::kFloat || !p.is_contiguous()) {
      return absl::UnimplementedError(
          "the fused training step needs contiguous float32 parameters");
    }
  }
  if (dynamic_cast<DiscreteObservationEncoder*>(model->obs_encoder.get()) ==
      nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("the fused training step has no observation encoder '",
                     model->options().obs_encoder, "'"));
  }
  auto impl = std::make_unique<Impl>();
  impl->model = model;
  impl->o = model->options();
  for (int32_t high : impl->o.obs_high) {
    impl->obs_offsets.push_back(impl->obs_rows);
    impl->obs_rows += high;
  }
  auto encoder_params = model->obs_encoder->named_parameters();
  impl->obs_table = encoder_params["table.weight"];
  impl->action_table = model->action_embed->weight;
  impl->reward_w = model->reward_proj->weight;
  impl->reward_b = model->reward_proj->bias;
  impl->boundary = model->boundary_embed;
  impl->mask = model->mask_embed;
  impl->pos = model->pos_embed->weight;
  impl->head_w = model->head->weight;
  impl->head_b = model->head->bias;
  if (model->final_norm) {
    impl->final_norm = {model->final_norm->weight, model->final_norm->bias};
  }
  for (const auto& module : *model->blocks) {
    auto* block = module->as<TransformerBlock>();
    impl->layers.push_back(
        {block->qkv->weight, block->qkv->bias, block->proj->weight,
         block->proj->bias, block->fc1->weight, block->fc1->bias,
         block->fc2->weight, block->fc2->bias,
         LayerNormParams{block->norm1->weight, block->norm1->bias},
         LayerNormParams{block->norm2->weight, block->norm2->bias}});
  }
  return std::unique_ptr<FusedTrainingStep>(
      new FusedTrainingStep(std::move(impl)));
}

absl::StatusOr<FusedStepResult> FusedTrainingStep::ForwardBackward(
    const ModelInput& input, const torch::Tensor& targets,
    double label_smoothing, uint64_t seed) {
  Impl& m = *impl_;
  if (absl::Status s = m.CheckInput(input, targets); !s.ok()) return s;
  return TorchCall(
      [&] {
        torch::NoGradGuard no_grad;
        SingleThreadedBlas blas;
        m.Allocate(input.obs.size(0), input.obs.size(1));
        const ModelOptions& o = m.o;
        const size_t num_layers = m.layers.size();
        const Site mask_site = MakeSite(SiteKey(seed, 0), o.sequence_mask_prob);
        const Site embed_site = MakeSite(SiteKey(seed, 1), o.dropout);
        std::vector<Site> sites;
        for (size_t l = 0; l < num_layers; ++l) {
          sites.push_back(
              MakeSite(SiteKey(seed, 2 + 4 * l), o.attention_dropout));
          for (int k = 1; k < 4; ++k) {
            sites.push_back(MakeSite(SiteKey(seed, 2 + 4 * l + k), o.dropout));
          }
        }
        // Forward.
        m.Embed(input, mask_site, embed_site);
        for (size_t l = 0; l < num_layers; ++l) {
          m.LayerForward(l, l == 0 ? m.x0 : m.acts[l - 1].out,
                         sites.data() + 4 * l);
        }
        const torch::Tensor& last = m.acts.back().out;
        if (o.post_norm) {
          m.z = last;
        } else {
          LayerNorm(last, m.final_norm, m.xhat_f, m.rstd_f, m.z);
        }
        Linear(m.z, m.head_w, m.head_b, m.logits);
        FusedStepResult result;
        m.Loss(targets, label_smoothing, &result.loss, &result.accuracy);
        // Backward.
        if (o.post_norm) {
          LinearBackward(m.dlogits, m.z, m.head_w, m.head_b, &m.dx, false);
        } else {
          LinearBackward(m.dlogits, m.z, m.head_w, m.head_b, &m.s1, false);
          LayerNormBackward(m.s1, m.xhat_f, m.rstd_f, m.final_norm, m.dx,
                            false);
        }
        for (size_t l = num_layers; l-- > 0;) {
          m.LayerBackward(l, l == 0 ? m.x0 : m.acts[l - 1].out,
                          sites.data() + 4 * l);
        }
        m.EmbedBackward(input, embed_site, mask_site.active);
        result.tokens = m.n;
        for (int64_t i = 0; i < m.n; ++i) result.masked += m.masked[i];
        return result;
      },
      "fused training step");
}

torch::Tensor FusedTrainingStep::logits() const {
  const Impl& m = *impl_;
  return m.logits.view({m.b, m.t, m.o.num_actions});
}

int64_t FusedTrainingStep::WorkspaceBytes() const {
  const Impl& m = *impl_;
  int64_t floats = 0;
  auto add = [&](const torch::Tensor& x) {
    if (x.defined()) floats += x.numel();
  };
  for (const Impl::Activations& a : m.acts) {
    for (const torch::Tensor* x : {&a.xhat1, &a.rstd1, &a.qkv, &a.probs, &a.att,
                                   &a.h, &a.xhat2, &a.rstd2, &a.f, &a.out}) {
      add(*x);
    }
    if (!m.o.post_norm) {
      add(a.n1);
      add(a.n2);
    }
  }
  for (const torch::Tensor* x : {&m.x0, &m.logits, &m.dlogits, &m.s1, &m.s2,
                                 &m.sf, &m.sf2, &m.dqkv, &m.dx}) {
    add(*x);
  }
  if (!m.o.post_norm) {
    add(m.xhat_f);
    add(m.rstd_f);
    add(m.z);
  }
  return 4 * floats;
}

uint64_t DrawStepSeed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

void FusedDropoutScales(uint64_t key, double p, uint32_t first, int64_t count,
                        float* out) {
  std::fill(out, out + count, 1.0f);
  const Site site = MakeSite(key, p);
  if (site.active) DropRange(site, first, count, out);
}

double ForwardFlopsPerToken(const ModelOptions& options, int64_t window) {
  const double d = options.embed_dim, f = options.ff_dim;
  const double per_layer = 2.0 * (3 * d * d + d * d + 2 * d * f) +
                           2.0 * 2.0 * static_cast<double>(window) * d;
  const double encoder =
      options.obs_encoder == "pixel" ? PixelEncoderForwardFlops(options) : 0.0;
  return options.num_layers * per_layer + 2.0 * d * options.num_actions +
         encoder;
}

}  // namespace ad::learner
