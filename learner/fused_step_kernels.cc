// The raw float kernels of the fused training step; see fused_step_kernels.h.
//
// Element-wise and attention kernels are compiled twice, for x86-64-v3
// (AVX2, FMA) and for the baseline ISA, and picked at load time (ifunc).
// Calls between kernels of this file stay inside one clone. The file is
// compiled with -fno-trapping-math (learner/CMakeLists.txt) so that the
// selects in these loops vectorise.
#include "learner/fused_step_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define AD_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef AD_VECTOR_CLONES
#define AD_VECTOR_CLONES
#endif

namespace ad::learner::fused_internal {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // torch::nn::LayerNorm's default

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Branch-free exp and erf, so that loops over them vectorise.

// Cephes' expf: 2^n * e^r with |r| <= ln(2) / 2; about 1 ulp.
inline float Exp(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float t = x * 1.44269504088896341f;
  const int32_t ni = static_cast<int32_t>(t + std::copysign(0.5f, t));
  const float n = static_cast<float>(ni);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return e * scale;
}

// GELU (exact, erf form) and its derivative. erf by Abramowitz & Stegun
// 7.1.26 (absolute error <= 1.5e-7), sharing exp(-x^2 / 2) with the
// derivative.
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

inline void GeluAndGrad(float x, float* value, float* grad) {
  const float z = std::fabs(x) * kInvSqrt2;
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  const float poly =
      ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t -
        0.284496736f) *
           t +
       0.254829592f) *
      t;
  const float e = Exp(-z * z);
  const float erf_abs = 1.0f - poly * e;
  const float cdf = 0.5f * (1.0f + std::copysign(erf_abs, x));
  *value = x * cdf;
  *grad = cdf + x * e * kInvSqrt2Pi;
}

}  // namespace

// ---------------------------------------------------------------------------
// Counter-based randomness.

Site MakeSite(uint64_t key, double p) {
  Site s;
  const uint64_t k = SplitMix64(key);
  s.k1 = static_cast<uint32_t>(k);
  s.k2 = static_cast<uint32_t>(k >> 32);
  s.threshold = static_cast<uint32_t>(
      std::min<double>(std::llround(p * 4294967296.0), 4294967295.0));
  s.scale = static_cast<float>(1.0 / (1.0 - p));
  s.active = p > 0;
  return s;
}

uint64_t SiteKey(uint64_t seed, uint64_t site) {
  return seed ^ SplitMix64(site + 0x51ed270b27ULL);
}

// x[j] = kept(first + j) ? x[j] * scale : 0.
AD_VECTOR_CLONES void DropRange(const Site& site, uint32_t first, int64_t n,
                                float* x) {
  const uint32_t k1 = site.k1, k2 = site.k2, threshold = site.threshold;
  const float scale = site.scale;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t h =
        Mix32(Mix32((first + static_cast<uint32_t>(j)) ^ k1) + k2);
    x[j] *= h >= threshold ? scale : 0.0f;
  }
}

namespace {

// out[j] = a[j] + dropped(y)[j].
AD_VECTOR_CLONES void AddDroppedRange(const Site& site, uint32_t first,
                                      int64_t n, const float* a, const float* y,
                                      float* out) {
  if (!site.active) {
    for (int64_t j = 0; j < n; ++j) out[j] = a[j] + y[j];
    return;
  }
  const uint32_t k1 = site.k1, k2 = site.k2, threshold = site.threshold;
  const float scale = site.scale;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t h =
        Mix32(Mix32((first + static_cast<uint32_t>(j)) ^ k1) + k2);
    out[j] = a[j] + y[j] * (h >= threshold ? scale : 0.0f);
  }
}

}  // namespace

// Dropout over a flat array of n elements, indices 0 .. n-1, in parallel.
void Drop(const Site& site, int64_t n, float* x) {
  if (!site.active) return;
  at::parallel_for(0, n, kElementGrain, [&](int64_t begin, int64_t end) {
    DropRange(site, static_cast<uint32_t>(begin), end - begin, x + begin);
  });
}

void AddDropped(const Site& site, int64_t n, const float* a, const float* y,
                float* out) {
  at::parallel_for(0, n, kElementGrain, [&](int64_t begin, int64_t end) {
    AddDroppedRange(site, static_cast<uint32_t>(begin), end - begin, a + begin,
                    y + begin, out + begin);
  });
}

// ---------------------------------------------------------------------------
// GELU with dropout.

// g[i] = dropped(gelu(f[i])), for i in [0, n) of a flat array at `first`.
AD_VECTOR_CLONES void GeluDropRange(const Site& site, uint32_t first, int64_t n,
                                    const float* f, float* g) {
  for (int64_t i = 0; i < n; ++i) {
    float v, d;
    GeluAndGrad(f[i], &v, &d);
    g[i] = v;
  }
  if (site.active) DropRange(site, first, n, g);
}

// dg[i] = dropped(dg)[i] * gelu'(f[i]).
AD_VECTOR_CLONES void GeluBackwardRange(const Site& site, uint32_t first,
                                        int64_t n, const float* f, float* dg) {
  if (site.active) DropRange(site, first, n, dg);
  for (int64_t i = 0; i < n; ++i) {
    float v, d;
    GeluAndGrad(f[i], &v, &d);
    dg[i] *= d;
  }
}

// ---------------------------------------------------------------------------
// Row reductions and LayerNorm.

AD_VECTOR_CLONES void AddRow(const float* x, int64_t n, float* acc) {
  for (int64_t j = 0; j < n; ++j) acc[j] += x[j];
}

void ColumnSums(const float* x, int64_t rows, int64_t width, float* out) {
  ReduceRows(
      rows, width,
      [&](int64_t r, float* acc) { AddRow(x + r * width, width, acc); }, out);
}

AD_VECTOR_CLONES void LayerNormRange(const float* x, const float* gamma,
                                     const float* beta, int64_t begin,
                                     int64_t end, int64_t d, float* xhat,
                                     float* rstd, float* y) {
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * d;
    float sum = 0;
    for (int64_t j = 0; j < d; ++j) sum += xr[j];
    const float mean = sum / d;
    float sq = 0;
    for (int64_t j = 0; j < d; ++j) sq += (xr[j] - mean) * (xr[j] - mean);
    const float rs = 1.0f / std::sqrt(sq / d + kLayerNormEps);
    rstd[r] = rs;
    float* hr = xhat + r * d;
    float* yr = y + r * d;
    for (int64_t j = 0; j < d; ++j) {
      hr[j] = (xr[j] - mean) * rs;
      yr[j] = hr[j] * gamma[j] + beta[j];
    }
  }
}

// dx (= or +=) d LayerNorm / d x applied to dy.
AD_VECTOR_CLONES void LayerNormBackwardRange(const float* dy, const float* xhat,
                                             const float* rstd,
                                             const float* gamma, int64_t begin,
                                             int64_t end, int64_t d,
                                             bool accumulate, float* dx) {
  for (int64_t r = begin; r < end; ++r) {
    const float* dyr = dy + r * d;
    const float* hr = xhat + r * d;
    float a = 0, b = 0;
    for (int64_t j = 0; j < d; ++j) {
      const float g = dyr[j] * gamma[j];
      a += g;
      b += g * hr[j];
    }
    a /= d;
    b /= d;
    const float rs = rstd[r];
    float* dxr = dx + r * d;
    if (accumulate) {
      for (int64_t j = 0; j < d; ++j) {
        dxr[j] += rs * (dyr[j] * gamma[j] - a - hr[j] * b);
      }
    } else {
      for (int64_t j = 0; j < d; ++j) {
        dxr[j] = rs * (dyr[j] * gamma[j] - a - hr[j] * b);
      }
    }
  }
}

AD_VECTOR_CLONES void LayerNormParamRow(const float* dy, const float* xhat,
                                        int64_t d, float* acc) {
  for (int64_t j = 0; j < d; ++j) {
    acc[j] += dy[j] * xhat[j];
    acc[d + j] += dy[j];
  }
}

// ---------------------------------------------------------------------------
// Causal attention of one (window, head).

// qkv: the window's rows [T, 3D]; probs: [T, T] softmax rows (only j <= i
// written); att: the window's rows [T, D]. Scratch: kt [hd * T], row [T].
AD_VECTOR_CLONES void AttentionHeadForward(const HeadShape& s, const Site& drop,
                                           const float* qkv, float* probs,
                                           float* att, float* kt, float* row) {
  const int64_t t = s.t, d3 = 3 * s.d, hd = s.hd;
  const float* q0 = qkv + s.head * hd;
  const float* k0 = q0 + s.d;
  const float* v0 = k0 + s.d;
  for (int64_t j = 0; j < t; ++j) {
    for (int64_t e = 0; e < hd; ++e) kt[e * t + j] = k0[j * d3 + e];
  }
  for (int64_t i = 0; i < t; ++i) {
    const int64_t n = i + 1;
    float* p = probs + i * t;
    for (int64_t j = 0; j < n; ++j) p[j] = 0;
    const float* q = q0 + i * d3;
    for (int64_t e = 0; e < hd; ++e) {
      const float qe = q[e] * s.scale;
      const float* ke = kt + e * t;
      for (int64_t j = 0; j < n; ++j) p[j] += qe * ke[j];
    }
    float mx = p[0];
    for (int64_t j = 1; j < n; ++j) mx = std::max(mx, p[j]);
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      p[j] = Exp(p[j] - mx);
      sum += p[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; ++j) p[j] *= inv;
    const float* pd = p;
    if (drop.active) {
      std::memcpy(row, p, n * sizeof(float));
      DropRange(drop, s.first + static_cast<uint32_t>(i * t), n, row);
      pd = row;
    }
    float* o = att + i * s.d + s.head * hd;
    for (int64_t e = 0; e < hd; ++e) o[e] = 0;
    for (int64_t j = 0; j < n; ++j) {
      const float pj = pd[j];
      const float* v = v0 + j * d3;
      for (int64_t e = 0; e < hd; ++e) o[e] += pj * v[e];
    }
  }
}

// datt: the window's rows [T, D] of d loss / d att; dqkv: the window's rows
// [T, 3D], this head's columns written. Scratch: vt [hd * T], dk and dv
// [T * hd], pd and dp [T].
AD_VECTOR_CLONES void AttentionHeadBackward(const HeadShape& s,
                                            const Site& drop, const float* qkv,
                                            const float* probs,
                                            const float* datt, float* dqkv,
                                            float* vt, float* dk, float* dv,
                                            float* pd, float* dp) {
  const int64_t t = s.t, d3 = 3 * s.d, hd = s.hd;
  const float* q0 = qkv + s.head * hd;
  const float* k0 = q0 + s.d;
  const float* v0 = k0 + s.d;
  for (int64_t j = 0; j < t; ++j) {
    for (int64_t e = 0; e < hd; ++e) vt[e * t + j] = v0[j * d3 + e];
  }
  std::fill(dk, dk + t * hd, 0.0f);
  std::fill(dv, dv + t * hd, 0.0f);
  for (int64_t i = 0; i < t; ++i) {
    const int64_t n = i + 1;
    const float* p = probs + i * t;
    const uint32_t first = s.first + static_cast<uint32_t>(i * t);
    std::memcpy(pd, p, n * sizeof(float));
    if (drop.active) DropRange(drop, first, n, pd);
    const float* go = datt + i * s.d + s.head * hd;
    for (int64_t j = 0; j < n; ++j) {
      const float pj = pd[j];
      float* dvj = dv + j * hd;
      for (int64_t e = 0; e < hd; ++e) dvj[e] += pj * go[e];
    }
    for (int64_t j = 0; j < n; ++j) dp[j] = 0;
    for (int64_t e = 0; e < hd; ++e) {
      const float ge = go[e];
      const float* ve = vt + e * t;
      for (int64_t j = 0; j < n; ++j) dp[j] += ge * ve[j];
    }
    if (drop.active) DropRange(drop, first, n, dp);
    float dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += p[j] * dp[j];
    for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - dot) * s.scale;
    float* dq = dqkv + i * d3 + s.head * hd;
    const float* q = q0 + i * d3;
    for (int64_t e = 0; e < hd; ++e) dq[e] = 0;
    for (int64_t j = 0; j < n; ++j) {
      const float sj = dp[j];
      const float* k = k0 + j * d3;
      float* dkj = dk + j * hd;
      for (int64_t e = 0; e < hd; ++e) {
        dq[e] += sj * k[e];
        dkj[e] += sj * q[e];
      }
    }
  }
  for (int64_t j = 0; j < t; ++j) {
    float* row = dqkv + j * d3 + s.head * hd;
    std::memcpy(row + s.d, dk + j * hd, hd * sizeof(float));
    std::memcpy(row + 2 * s.d, dv + j * hd, hd * sizeof(float));
  }
}

}  // namespace ad::learner::fused_internal
