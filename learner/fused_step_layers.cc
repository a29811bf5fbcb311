// The forward and backward passes of each part of the AD model for the
// fused training step: embedding, causal self-attention, transformer layer
// (post- and pre-norm) and the label-smoothed loss. Methods of
// FusedTrainingStep::Impl (fused_step_internal.h), built on the tensor
// operations of fused_step_ops.h and the kernels of fused_step_kernels.h.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "learner/fused_step_internal.h"
#include "learner/fused_step_kernels.h"
#include "learner/fused_step_ops.h"

namespace ad::learner {

using fused_internal::AddDropped;
using fused_internal::AddRow;
using fused_internal::AttentionHeadBackward;
using fused_internal::AttentionHeadForward;
using fused_internal::Copy;
using fused_internal::Drop;
using fused_internal::DropRange;
using fused_internal::F;
using fused_internal::GeluBackwardRange;
using fused_internal::GeluDropRange;
using fused_internal::Grad;
using fused_internal::HeadShape;
using fused_internal::kElementGrain;
using fused_internal::LayerNorm;
using fused_internal::LayerNormBackward;
using fused_internal::Linear;
using fused_internal::LinearBackward;
using fused_internal::ReduceRows;

void FusedTrainingStep::Impl::Embed(const ModelInput& input,
                                    const Site& mask_site,
                                    const Site& drop_site) {
  const int64_t d = o.embed_dim, od = o.obs_dim;
  const torch::Tensor obs = input.obs.contiguous();
  const torch::Tensor act = input.prev_actions.contiguous();
  const torch::Tensor rew = input.prev_rewards.contiguous();
  const torch::Tensor done = input.prev_dones.contiguous();
  const int64_t* po = obs.data_ptr<int64_t>();
  const int64_t* pa = act.data_ptr<int64_t>();
  const float* pr = rew.data_ptr<float>();
  const float* pd = done.data_ptr<float>();
  const float *table = F(obs_table), *actions = F(action_table),
              *rw = F(reward_w), *rb = F(reward_b), *bd = F(boundary),
              *me = F(mask), *pe = F(pos);
  float* x = F(x0);
  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* xr = x + i * d;
      const bool is_masked =
          mask_site.active &&
          mask_site.Hash(static_cast<uint32_t>(i)) < mask_site.threshold;
      masked[i] = is_masked;
      if (is_masked) {
        std::memcpy(xr, me, d * sizeof(float));
      } else {
        const int64_t a = pa[i] < 0 ? o.num_actions : pa[i];
        const float* ar = actions + a * d;
        const float r = pr[i], dn = pd[i];
        for (int64_t j = 0; j < d; ++j) {
          xr[j] = ar[j] + (r * rw[j] + rb[j]) + dn * bd[j];
        }
        for (int64_t c = 0; c < od; ++c) {
          const float* er = table + (po[i * od + c] + obs_offsets[c]) * d;
          for (int64_t j = 0; j < d; ++j) xr[j] += er[j];
        }
      }
      const float* pr_t = pe + (i % t) * d;
      for (int64_t j = 0; j < d; ++j) xr[j] += pr_t[j];
      if (drop_site.active) {
        DropRange(drop_site, static_cast<uint32_t>(i * d), d, xr);
      }
    }
  });
}

void FusedTrainingStep::Impl::EmbedBackward(const ModelInput& input,
                                            const Site& drop_site,
                                            bool mask_used) {
  const int64_t d = o.embed_dim, od = o.obs_dim;
  float* g = F(dx);
  Drop(drop_site, n * d, g);
  // Positions: each row t sums its B tokens.
  float* gpos = F(Grad(pos));
  std::fill(gpos, gpos + pos.numel(), 0.0f);
  at::parallel_for(0, t, 8, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) {
      for (int64_t w = 0; w < b; ++w)
        AddRow(g + (w * t + s) * d, d, gpos + s * d);
    }
  });
  // Everything else: one accumulator of [obs rows | action rows | reward
  // weight | reward bias | boundary | mask] x D.
  const int64_t action_rows = o.num_actions + 1;
  const int64_t rows = obs_rows + action_rows + 4;
  const torch::Tensor obs = input.obs.contiguous();
  const torch::Tensor act = input.prev_actions.contiguous();
  const torch::Tensor rew = input.prev_rewards.contiguous();
  const torch::Tensor done = input.prev_dones.contiguous();
  const int64_t* po = obs.data_ptr<int64_t>();
  const int64_t* pa = act.data_ptr<int64_t>();
  const float* pr = rew.data_ptr<float>();
  const float* pd = done.data_ptr<float>();
  std::vector<float> sums(rows * d);
  const int64_t a_base = obs_rows * d;
  const int64_t rw_base = a_base + action_rows * d, rb_base = rw_base + d,
                bd_base = rb_base + d, m_base = bd_base + d;
  ReduceRows(
      n, rows * d,
      [&](int64_t i, float* acc) {
        const float* gr = g + i * d;
        if (masked[i]) {
          AddRow(gr, d, acc + m_base);
          return;
        }
        for (int64_t c = 0; c < od; ++c) {
          AddRow(gr, d, acc + (po[i * od + c] + obs_offsets[c]) * d);
        }
        const int64_t a = pa[i] < 0 ? o.num_actions : pa[i];
        AddRow(gr, d, acc + a_base + a * d);
        AddRow(gr, d, acc + rb_base);
        const float r = pr[i], dn = pd[i];
        float* accw = acc + rw_base;
        float* accb = acc + bd_base;
        for (int64_t j = 0; j < d; ++j) {
          accw[j] += r * gr[j];
          accb[j] += dn * gr[j];
        }
      },
      sums.data());
  std::memcpy(F(Grad(obs_table)), sums.data(), a_base * sizeof(float));
  std::memcpy(F(Grad(action_table)), sums.data() + a_base,
              action_rows * d * sizeof(float));
  std::memcpy(F(Grad(reward_w)), sums.data() + rw_base, d * sizeof(float));
  std::memcpy(F(Grad(reward_b)), sums.data() + rb_base, d * sizeof(float));
  std::memcpy(F(Grad(boundary)), sums.data() + bd_base, d * sizeof(float));
  if (mask_used) {
    std::memcpy(F(Grad(mask)), sums.data() + m_base, d * sizeof(float));
  } else {
    // As autograd: a parameter outside the graph has no gradient.
    mask.mutable_grad() = torch::Tensor();
  }
}

void FusedTrainingStep::Impl::Attention(const Activations& a,
                                        const Site& drop) {
  const int64_t heads = o.num_heads, d = o.embed_dim, hd = d / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const float* qkv = F(a.qkv);
  float* probs = F(a.probs);
  float* att = F(a.att);
  at::parallel_for(0, b * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(hd * t + t);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t w = bh / heads;
      HeadShape s{t,          d,     hd,
                  bh % heads, scale, static_cast<uint32_t>(bh * t * t)};
      AttentionHeadForward(s, drop, qkv + w * t * 3 * d, probs + bh * t * t,
                           att + w * t * d, scratch.data(),
                           scratch.data() + hd * t);
    }
  });
}

void FusedTrainingStep::Impl::AttentionBackward(const Activations& a,
                                                const Site& drop) {
  const int64_t heads = o.num_heads, d = o.embed_dim, hd = d / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const float* qkv = F(a.qkv);
  const float* probs = F(a.probs);
  const float* datt = F(s1);
  float* out = F(dqkv);
  at::parallel_for(0, b * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(3 * hd * t + 2 * t);
    float* vt = scratch.data();
    float* dk = vt + hd * t;
    float* dv = dk + hd * t;
    float* pd = dv + hd * t;
    float* dp = pd + t;
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t w = bh / heads;
      HeadShape s{t,          d,     hd,
                  bh % heads, scale, static_cast<uint32_t>(bh * t * t)};
      AttentionHeadBackward(s, drop, qkv + w * t * 3 * d, probs + bh * t * t,
                            datt + w * t * d, out + w * t * 3 * d, vt, dk, dv,
                            pd, dp);
    }
  });
}

// sites: [attention, residual 1, MLP hidden, residual 2] of this layer.
void FusedTrainingStep::Impl::LayerForward(size_t l, const torch::Tensor& in,
                                           const Site* sites) {
  const Layer& p = layers[l];
  Activations& a = acts[l];
  const int64_t d = o.embed_dim;
  if (o.post_norm) {
    Linear(in, p.qkv_w, p.qkv_b, a.qkv);
  } else {
    LayerNorm(in, p.norm1, a.xhat1, a.rstd1, a.n1);
    Linear(a.n1, p.qkv_w, p.qkv_b, a.qkv);
  }
  Attention(a, sites[0]);
  Linear(a.att, p.proj_w, p.proj_b, s1);
  if (o.post_norm) {
    AddDropped(sites[1], n * d, F(in), F(s1), F(s2));
    LayerNorm(s2, p.norm1, a.xhat1, a.rstd1, a.h);
    Linear(a.h, p.fc1_w, p.fc1_b, a.f);
  } else {
    AddDropped(sites[1], n * d, F(in), F(s1), F(a.h));
    LayerNorm(a.h, p.norm2, a.xhat2, a.rstd2, a.n2);
    Linear(a.n2, p.fc1_w, p.fc1_b, a.f);
  }
  const float* pf = F(a.f);
  float* pg = F(sf);
  const Site& hidden = sites[2];
  at::parallel_for(0, a.f.numel(), kElementGrain,
                   [&](int64_t begin, int64_t end) {
                     GeluDropRange(hidden, static_cast<uint32_t>(begin),
                                   end - begin, pf + begin, pg + begin);
                   });
  Linear(sf, p.fc2_w, p.fc2_b, s1);
  if (o.post_norm) {
    AddDropped(sites[3], n * d, F(a.h), F(s1), F(s2));
    LayerNorm(s2, p.norm2, a.xhat2, a.rstd2, a.out);
  } else {
    AddDropped(sites[3], n * d, F(a.h), F(s1), F(a.out));
  }
}

// On entry dx = d loss / d (layer output); on return d loss / d in.
void FusedTrainingStep::Impl::LayerBackward(size_t l, const torch::Tensor& in,
                                            const Site* sites) {
  const Layer& p = layers[l];
  const Activations& a = acts[l];
  const int64_t d = o.embed_dim;
  // The MLP's output: dm2 = dropped(d residual 2) into s2.
  if (o.post_norm) {
    LayerNormBackward(dx, a.xhat2, a.rstd2, p.norm2, s1, false);  // s1 = dr2
    Copy(s1, s2);
  } else {
    Copy(dx, s2);
  }
  Drop(sites[3], n * d, F(s2));
  // Recompute the MLP's hidden activations (dropped GELU) into sf.
  const float* pf = F(a.f);
  float* pg = F(sf);
  const Site& hidden = sites[2];
  at::parallel_for(0, a.f.numel(), kElementGrain,
                   [&](int64_t begin, int64_t end) {
                     GeluDropRange(hidden, static_cast<uint32_t>(begin),
                                   end - begin, pf + begin, pg + begin);
                   });
  LinearBackward(s2, sf, p.fc2_w, p.fc2_b, &sf2, false);
  float* pdg = F(sf2);
  at::parallel_for(0, a.f.numel(), kElementGrain,
                   [&](int64_t begin, int64_t end) {
                     GeluBackwardRange(hidden, static_cast<uint32_t>(begin),
                                       end - begin, pf + begin, pdg + begin);
                   });
  if (o.post_norm) {
    LinearBackward(sf2, a.h, p.fc1_w, p.fc1_b, &s1, true);        // s1 = dh
    LayerNormBackward(s1, a.xhat1, a.rstd1, p.norm1, s2, false);  // s2 = dr1
    Copy(s2, dx);
  } else {
    LinearBackward(sf2, a.n2, p.fc1_w, p.fc1_b, &s1, false);     // s1 = dn2
    LayerNormBackward(s1, a.xhat2, a.rstd2, p.norm2, dx, true);  // dx = dh
    Copy(dx, s2);
  }
  // The attention's output projection: dy = dropped(d residual 1).
  Drop(sites[1], n * d, F(s2));
  LinearBackward(s2, a.att, p.proj_w, p.proj_b, &s1, false);  // s1 = datt
  AttentionBackward(a, sites[0]);
  if (o.post_norm) {
    LinearBackward(dqkv, in, p.qkv_w, p.qkv_b, &dx, true);
  } else {
    LinearBackward(dqkv, a.n1, p.qkv_w, p.qkv_b, &s1, false);  // s1 = dn1
    LayerNormBackward(s1, a.xhat1, a.rstd1, p.norm1, dx, true);
  }
}

void FusedTrainingStep::Impl::Loss(const torch::Tensor& targets,
                                   double smoothing, double* loss,
                                   double* accuracy) {
  const int64_t na = o.num_actions;
  const torch::Tensor tgt = targets.contiguous();
  const int64_t* pt = tgt.data_ptr<int64_t>();
  const float* pl = F(logits);
  float* pg = F(dlogits);
  const double on = 1.0 - smoothing, off = smoothing / na;
  at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    std::vector<double> prob(na);
    for (int64_t i = begin; i < end; ++i) {
      const float* z = pl + i * na;
      int64_t best = 0;
      for (int64_t j = 1; j < na; ++j) {
        if (z[j] > z[best]) best = j;
      }
      const double mx = z[best];
      double sum = 0;
      for (int64_t j = 0; j < na; ++j) {
        prob[j] = std::exp(z[j] - mx);
        sum += prob[j];
      }
      const double lse = mx + std::log(sum);
      double sum_logp = 0;
      for (int64_t j = 0; j < na; ++j) sum_logp += z[j] - lse;
      row_loss[i] = -on * (z[pt[i]] - lse) - off * sum_logp;
      row_correct[i] = best == pt[i];
      float* g = pg + i * na;
      for (int64_t j = 0; j < na; ++j) {
        g[j] = static_cast<float>(
            (prob[j] / sum - off - (j == pt[i] ? on : 0)) / n);
      }
    }
  });
  double total = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    total += row_loss[i];
    correct += row_correct[i];
  }
  *loss = total / n;
  *accuracy = static_cast<double>(correct) / n;
}

}  // namespace ad::learner
