#include "learner/device.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "learner/torch_status.h"

namespace ad::learner {

absl::StatusOr<torch::Device> SelectDevice(absl::string_view name) {
  const bool has_cuda = torch::cuda::is_available();
  if (name == "auto")
    return has_cuda ? torch::Device(torch::kCUDA, 0)
                    : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!has_cuda) {
      return absl::UnavailableError(
          absl::StrCat("device '", name,
                       "': this LibTorch has no CUDA or no GPU is visible"));
    }
    return TorchCall([&] { return torch::Device(std::string(name)); },
                     absl::StrCat("device '", name, "'"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device '", name, "': must be auto, cpu, cuda or cuda:N"));
}

absl::Status ConfigureThreads(int threads) {
  if (threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads = ", threads, ": must be >= 1"));
  }
  static std::atomic<bool> interop_set{false};
  return TorchCall(
      [&] {
        if (!interop_set.exchange(true)) torch::set_num_interop_threads(1);
        torch::set_num_threads(threads);
      },
      "ConfigureThreads");
}

std::string DeviceName(const torch::Device& device) { return device.str(); }

}  // namespace ad::learner
