#include "learner/fast_dropout.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <mutex>

namespace ad::learner {
namespace {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t SeedFromDefaultGenerator() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

class DropoutFunction : public torch::autograd::Function<DropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                               const torch::Tensor& x, double p) {
    torch::Tensor mask = DropoutMask(x.sizes(), p, SeedFromDefaultGenerator());
    ctx->save_for_backward({mask});
    return x * mask;
  }

  static torch::autograd::tensor_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::tensor_list grads) {
    torch::Tensor mask = ctx->get_saved_variables()[0];  // owns a copy
    return {grads[0] * mask, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor DropoutMask(torch::IntArrayRef sizes, double p, uint64_t seed) {
  torch::Tensor mask = torch::empty(sizes, torch::kFloat);
  float* out = mask.data_ptr<float>();
  const int64_t n = mask.numel();
  const uint32_t threshold =
      static_cast<uint32_t>(std::lround(p * 65536.0));  // drop if below
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  const uint64_t key = SplitMix64(seed);
  // Each 64-bit hash decides four elements.
  at::parallel_for(0, (n + 3) / 4, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      uint64_t h = SplitMix64(key ^ static_cast<uint64_t>(i));
      const int64_t base = 4 * i;
      const int64_t count = std::min<int64_t>(4, n - base);
      for (int64_t j = 0; j < count; ++j, h >>= 16) {
        out[base + j] = (h & 0xffff) >= threshold ? scale : 0.0f;
      }
    }
  });
  return mask;
}

torch::Tensor FastDropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (!x.is_cpu() || x.scalar_type() != torch::kFloat) {
    return torch::dropout(x, p, /*train=*/true);
  }
  return DropoutFunction::apply(x, p);
}

}  // namespace ad::learner
