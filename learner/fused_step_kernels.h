// The raw float kernels of the fused training step (fused_step.h): the
// counter-based dropout draws, exact GELU, row reductions, LayerNorm rows
// and the causal attention of one (window, head). They work on plain float
// arrays; fused_step_ops.h wraps them as operations on LibTorch tensors.
//
// Internal to learner/fused_step*.cc; nothing else includes this header.
//
// The element-wise and attention kernels are compiled twice, for x86-64-v3
// (AVX2, FMA) and for the baseline ISA, and picked at load time (ifunc); see
// fused_step_kernels.cc. Results are independent of the thread count:
// reductions sum a fixed number of chunks in a fixed order.
#ifndef AD_LEARNER_FUSED_STEP_KERNELS_H_
#define AD_LEARNER_FUSED_STEP_KERNELS_H_

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ad::learner::fused_internal {

constexpr int64_t kReduceChunks = 8;  // fixed: sums independent of threads
constexpr int64_t kElementGrain = 16384;

// ---------------------------------------------------------------------------
// Counter-based randomness.

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

// The site keyed `key` that drops with probability p.
Site MakeSite(uint64_t key, double p);

// The key of draw site `site` (mask, embedding, per-layer sites) of a step.
uint64_t SiteKey(uint64_t seed, uint64_t site);

// x[j] = kept(first + j) ? x[j] * scale : 0.
void DropRange(const Site& site, uint32_t first, int64_t n, float* x);

// Dropout over a flat array of n elements, indices 0 .. n-1, in parallel.
void Drop(const Site& site, int64_t n, float* x);

// out[i] = a[i] + dropped(y)[i] over a flat array of n elements, in
// parallel.
void AddDropped(const Site& site, int64_t n, const float* a, const float* y,
                float* out);

// ---------------------------------------------------------------------------
// GELU (exact, erf form) with dropout.

// g[i] = dropped(gelu(f[i])), for i in [0, n) of a flat array at `first`.
void GeluDropRange(const Site& site, uint32_t first, int64_t n, const float* f,
                   float* g);

// dg[i] = dropped(dg)[i] * gelu'(f[i]).
void GeluBackwardRange(const Site& site, uint32_t first, int64_t n,
                       const float* f, float* dg);

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

// acc[j] += x[j] for j in [0, n).
void AddRow(const float* x, int64_t n, float* acc);

// out[j] = sum over rows of x[r, j], x being [rows, width].
void ColumnSums(const float* x, int64_t rows, int64_t width, float* out);

// Rows [begin, end) of y = LayerNorm(x) (rows of d), saving the normalised
// rows xhat and each row's 1 / std in rstd for backward.
void LayerNormRange(const float* x, const float* gamma, const float* beta,
                    int64_t begin, int64_t end, int64_t d, float* xhat,
                    float* rstd, float* y);

// dx (= or +=) d LayerNorm / d x applied to dy.
void LayerNormBackwardRange(const float* dy, const float* xhat,
                            const float* rstd, const float* gamma,
                            int64_t begin, int64_t end, int64_t d,
                            bool accumulate, float* dx);

// One row's share of the LayerNorm parameter gradients: acc[0 .. d) +=
// dy * xhat (weight), acc[d .. 2d) += dy (bias).
void LayerNormParamRow(const float* dy, const float* xhat, int64_t d,
                       float* acc);

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
void AttentionHeadForward(const HeadShape& s, const Site& drop,
                          const float* qkv, float* probs, float* att, float* kt,
                          float* row);

// datt: the window's rows [T, D] of d loss / d att; dqkv: the window's rows
// [T, 3D], this head's columns written. Scratch: vt [hd * T], dk and dv
// [T * hd], pd and dp [T].
void AttentionHeadBackward(const HeadShape& s, const Site& drop,
                           const float* qkv, const float* probs,
                           const float* datt, float* dqkv, float* vt, float* dk,
                           float* dv, float* pd, float* dp);

}  // namespace ad::learner::fused_internal

#endif  // AD_LEARNER_FUSED_STEP_KERNELS_H_
