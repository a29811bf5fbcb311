// The fused training step's operations on LibTorch tensors (fused_step.h):
// linear layers and LayerNorm, forward and backward, over contiguous float32
// CPU tensors of rows. Matrix products go through LibTorch's BLAS on
// preallocated outputs; row work goes to the kernels of fused_step_kernels.h,
// parallelised with at::parallel_for. Backward functions write parameter
// gradients into each parameter's .grad() (allocated on first use,
// overwritten).
//
// Internal to learner/fused_step*.cc; nothing else includes this header.
#ifndef AD_LEARNER_FUSED_STEP_OPS_H_
#define AD_LEARNER_FUSED_STEP_OPS_H_

#include <torch/torch.h>

#include <cstdint>
#include <initializer_list>

namespace ad::learner::fused_internal {

inline float* F(const torch::Tensor& t) { return t.data_ptr<float>(); }

inline torch::Tensor Empty(std::initializer_list<int64_t> sizes) {
  return torch::empty(sizes, torch::kFloat);
}

// The gradient tensor of `p`, allocated on first use.
torch::Tensor Grad(const torch::Tensor& p);

// OpenBLAS (Debian's LibTorch BLAS) runs its own thread pool beside
// LibTorch's OpenMP one; on a few cores the two spin against each other
// between the many short phases of a step. While a fused step runs, BLAS is
// kept to one thread and the products are split over LibTorch's threads
// instead (ParallelMm). Other BLAS libraries are left alone.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
  bool active() const { return set_ != nullptr; }

 private:
  void (*set_)(int) = nullptr;
  int saved_ = 1;
};

// out = a b (+ out if accumulate): rows of `out` split over LibTorch's
// threads when BLAS is OpenBLAS (single-threaded here), else one BLAS call.
void ParallelMm(torch::Tensor& out, const torch::Tensor& a,
                const torch::Tensor& b, bool accumulate);

// y = x w^T + b.
void Linear(const torch::Tensor& x, const torch::Tensor& w,
            const torch::Tensor& b, torch::Tensor& y);

// Parameter gradients of y = x w^T + b given dy; dx = dy w, written or
// added, when dx is given.
void LinearBackward(const torch::Tensor& dy, const torch::Tensor& x,
                    const torch::Tensor& w, const torch::Tensor& b,
                    torch::Tensor* dx, bool accumulate);

struct LayerNormParams {
  torch::Tensor weight, bias;
};

// y = LayerNorm(x) over rows, saving xhat (normalised rows) and rstd (1 /
// std per row) for backward.
void LayerNorm(const torch::Tensor& x, const LayerNormParams& p,
               torch::Tensor& xhat, torch::Tensor& rstd, torch::Tensor& y);

// Writes the gradients of p and sets (or adds to) dx.
void LayerNormBackward(const torch::Tensor& dy, const torch::Tensor& xhat,
                       const torch::Tensor& rstd, const LayerNormParams& p,
                       torch::Tensor& dx, bool accumulate);

// dst = src, both contiguous with the same number of elements.
void Copy(const torch::Tensor& src, torch::Tensor& dst);

}  // namespace ad::learner::fused_internal

#endif  // AD_LEARNER_FUSED_STEP_OPS_H_
