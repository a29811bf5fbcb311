#include "learner/fused_step.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "learner/torch_status.h"

// Element-wise and attention kernels are compiled twice, for x86-64-v3
// (AVX2, FMA) and for the baseline ISA, and picked at load time (ifunc).
// The file is compiled with -fno-trapping-math (learner/CMakeLists.txt) so
// that the selects in these loops vectorise.
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define AD_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef AD_VECTOR_CLONES
#define AD_VECTOR_CLONES
#endif

namespace ad::learner {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // torch::nn::LayerNorm's default
constexpr int64_t kReduceChunks = 8;    // fixed: sums independent of threads
constexpr int64_t kElementGrain = 16384;

// ---------------------------------------------------------------------------
// Counter-based randomness.

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A 32-bit bijective mixer (two multiply-xorshift rounds); vectorises.
inline uint32_t Mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// One source of Bernoulli draws: element i is dropped (or masked) iff
// Hash(i) < threshold, i.e. with probability threshold / 2^32.
struct Site {
  uint32_t k1 = 0;
  uint32_t k2 = 0;
  uint32_t threshold = 0;
  float scale = 1;  // 1 / (1 - p) for kept elements
  bool active = false;

  uint32_t Hash(uint32_t i) const { return Mix32(Mix32(i ^ k1) + k2); }
};

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

// out[0 .. width) = sum over rows r of what fn(r, acc) adds into acc; rows
// are split into a fixed number of chunks summed in order.
template <typename RowFn>
void ReduceRows(int64_t rows, int64_t width, const RowFn& fn, float* out) {
  std::vector<float> partial(kReduceChunks * width, 0.0f);
  const int64_t per = (rows + kReduceChunks - 1) / kReduceChunks;
  at::parallel_for(0, kReduceChunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* acc = partial.data() + c * width;
      const int64_t end = std::min(rows, (c + 1) * per);
      for (int64_t r = c * per; r < end; ++r) fn(r, acc);
    }
  });
  for (int64_t j = 0; j < width; ++j) {
    float s = 0;
    for (int64_t c = 0; c < kReduceChunks; ++c) s += partial[c * width + j];
    out[j] = s;
  }
}

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

struct HeadShape {
  int64_t t;       // window length
  int64_t d;       // embed_dim
  int64_t hd;      // head dim
  int64_t head;    // which head
  float scale;     // 1 / sqrt(hd)
  uint32_t first;  // dropout index of (bh, 0, 0)
};

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

// ---------------------------------------------------------------------------

float* F(const torch::Tensor& t) { return t.data_ptr<float>(); }

torch::Tensor Empty(std::initializer_list<int64_t> sizes) {
  return torch::empty(sizes, torch::kFloat);
}

// The gradient tensor of `p`, allocated on first use.
torch::Tensor Grad(const torch::Tensor& p) {
  torch::Tensor g = p.grad();
  if (!g.defined() || !g.is_contiguous() || g.sizes() != p.sizes()) {
    p.mutable_grad() = torch::zeros_like(p);
    g = p.grad();
  }
  return g;
}

// OpenBLAS (Debian's LibTorch BLAS) runs its own thread pool beside
// LibTorch's OpenMP one; on a few cores the two spin against each other
// between the many short phases of a step. While a fused step runs, BLAS is
// kept to one thread and the products are split over LibTorch's threads
// instead (ParallelMm). Other BLAS libraries are left alone.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    using Get = int (*)();
    static const auto set = reinterpret_cast<void (*)(int)>(
        dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    static const auto get =
        reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (set != nullptr && get != nullptr) {
      set_ = set;
      saved_ = get();
      if (saved_ != 1) set_(1);
    }
  }
  ~SingleThreadedBlas() {
    if (set_ != nullptr && saved_ != 1) set_(saved_);
  }
  bool active() const { return set_ != nullptr; }

 private:
  void (*set_)(int) = nullptr;
  int saved_ = 1;
};

// out = a b (+ out if accumulate): rows of `out` split over LibTorch's
// threads when BLAS is OpenBLAS (single-threaded here), else one BLAS call.
void ParallelMm(torch::Tensor& out, const torch::Tensor& a,
                const torch::Tensor& b, bool accumulate) {
  const int64_t m = out.size(0);
  const int64_t threads = at::get_num_threads();
  static const bool split = SingleThreadedBlas().active();
  if (!split || threads == 1 || m < 64) {
    if (accumulate) {
      out.addmm_(a, b);
    } else {
      at::mm_out(out, a, b);
    }
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads, m / 32);
  const int64_t per = (m + chunks - 1) / chunks;
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t begin = c * per, len = std::min(m, begin + per) - begin;
      torch::Tensor o = out.narrow(0, begin, len);
      const torch::Tensor ai = a.narrow(0, begin, len);
      if (accumulate) {
        o.addmm_(ai, b);
      } else {
        at::mm_out(o, ai, b);
      }
    }
  });
}

// y = x w^T + b.
void Linear(const torch::Tensor& x, const torch::Tensor& w,
            const torch::Tensor& b, torch::Tensor& y) {
  const int64_t rows = y.size(0), d = y.size(1);
  float* py = F(y);
  const float* pb = F(b);
  at::parallel_for(0, rows, std::max<int64_t>(1, 8192 / d),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t r = begin; r < end; ++r) {
                       std::memcpy(py + r * d, pb, d * sizeof(float));
                     }
                   });
  ParallelMm(y, x, w.t(), /*accumulate=*/true);
}

// Parameter gradients of y = x w^T + b given dy; dx = dy w, written or
// added, when dx is given.
void LinearBackward(const torch::Tensor& dy, const torch::Tensor& x,
                    const torch::Tensor& w, const torch::Tensor& b,
                    torch::Tensor* dx, bool accumulate) {
  torch::Tensor gw = Grad(w);
  ParallelMm(gw, dy.t(), x, /*accumulate=*/false);
  ColumnSums(F(dy), dy.size(0), dy.size(1), F(Grad(b)));
  if (dx == nullptr) return;
  ParallelMm(*dx, dy, w, accumulate);
}

struct LayerNormParams {
  torch::Tensor weight, bias;
};

void LayerNorm(const torch::Tensor& x, const LayerNormParams& p,
               torch::Tensor& xhat, torch::Tensor& rstd, torch::Tensor& y) {
  const int64_t rows = x.size(0), d = x.size(1);
  const float *px = F(x), *g = F(p.weight), *b = F(p.bias);
  float *ph = F(xhat), *pr = F(rstd), *py = F(y);
  at::parallel_for(0, rows, std::max<int64_t>(1, 4096 / d),
                   [&](int64_t begin, int64_t end) {
                     LayerNormRange(px, g, b, begin, end, d, ph, pr, py);
                   });
}

void LayerNormBackward(const torch::Tensor& dy, const torch::Tensor& xhat,
                       const torch::Tensor& rstd, const LayerNormParams& p,
                       torch::Tensor& dx, bool accumulate) {
  const int64_t rows = dy.size(0), d = dy.size(1);
  const float *pdy = F(dy), *ph = F(xhat), *pr = F(rstd), *g = F(p.weight);
  float* pdx = F(dx);
  std::vector<float> sums(2 * d);
  ReduceRows(
      rows, 2 * d,
      [&](int64_t r, float* acc) {
        LayerNormParamRow(pdy + r * d, ph + r * d, d, acc);
      },
      sums.data());
  std::memcpy(F(Grad(p.weight)), sums.data(), d * sizeof(float));
  std::memcpy(F(Grad(p.bias)), sums.data() + d, d * sizeof(float));
  at::parallel_for(
      0, rows, std::max<int64_t>(1, 4096 / d), [&](int64_t begin, int64_t end) {
        LayerNormBackwardRange(pdy, ph, pr, g, begin, end, d, accumulate, pdx);
      });
}

void Copy(const torch::Tensor& src, torch::Tensor& dst) {
  std::memcpy(F(dst), F(src), src.numel() * sizeof(float));
}

}  // namespace

// ---------------------------------------------------------------------------

struct FusedTrainingStep::Impl {
  struct Layer {
    torch::Tensor qkv_w, qkv_b, proj_w, proj_b, fc1_w, fc1_b, fc2_w, fc2_b;
    LayerNormParams norm1, norm2;
  };
  // Saved for backward, per layer. n1 / n2 (the LayerNorm outputs) are
  // only separate tensors for pre-norm; with post-norm h is norm1's output
  // and out is norm2's.
  struct Activations {
    torch::Tensor xhat1, rstd1, n1, qkv, probs, att, h, xhat2, rstd2, n2, f,
        out;
  };

  ADModel model{nullptr};
  ModelOptions o;
  std::vector<int64_t> obs_offsets;
  int64_t obs_rows = 0;  // rows of the observation table
  torch::Tensor obs_table, action_table, reward_w, reward_b, boundary, mask,
      pos, head_w, head_b;
  LayerNormParams final_norm;
  std::vector<Layer> layers;

  int64_t b = 0, t = 0, n = 0;  // the shapes the workspaces are sized for
  torch::Tensor x0, xhat_f, rstd_f, z, logits, dlogits;
  std::vector<Activations> acts;
  torch::Tensor s1, s2, sf, sf2, dqkv, dx;  // scratch
  std::vector<uint8_t> masked;
  std::vector<double> row_loss;
  std::vector<uint8_t> row_correct;

  void Allocate(int64_t batch, int64_t window);
  absl::Status CheckInput(const ModelInput& input,
                          const torch::Tensor& targets) const;
  void Embed(const ModelInput& input, const Site& mask_site,
             const Site& drop_site);
  void EmbedBackward(const ModelInput& input, const Site& drop_site,
                     bool mask_used);
  void Attention(const Activations& a, const Site& drop);
  void AttentionBackward(const Activations& a, const Site& drop);
  void LayerForward(size_t l, const torch::Tensor& in, const Site* sites);
  void LayerBackward(size_t l, const torch::Tensor& in, const Site* sites);
  void Loss(const torch::Tensor& targets, double smoothing, double* loss,
            double* accuracy);
};

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
  return options.num_layers * per_layer + 2.0 * d * options.num_actions;
}

}  // namespace ad::learner
