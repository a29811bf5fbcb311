// The fused training step's tensor operations; see fused_step_ops.h.
#include "learner/fused_step_ops.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "learner/fused_step_kernels.h"

namespace ad::learner::fused_internal {

torch::Tensor Grad(const torch::Tensor& p) {
  torch::Tensor g = p.grad();
  if (!g.defined() || !g.is_contiguous() || g.sizes() != p.sizes()) {
    p.mutable_grad() = torch::zeros_like(p);
    g = p.grad();
  }
  return g;
}

SingleThreadedBlas::SingleThreadedBlas() {
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

SingleThreadedBlas::~SingleThreadedBlas() {
  if (set_ != nullptr && saved_ != 1) set_(saved_);
}

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

}  // namespace ad::learner::fused_internal
