// Picks the LibTorch device and sets its thread pools explicitly.
//
// LibTorch on CPU defaults to one intra-op thread in this build; the learner
// always sets the count it was given. CUDA is used when this LibTorch was
// built with it and a GPU is visible (Debian's libtorch is CPU-only; a CUDA
// LibTorch comes in through CMAKE_PREFIX_PATH).
#ifndef AD_LEARNER_DEVICE_H_
#define AD_LEARNER_DEVICE_H_

#include <torch/torch.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ad::learner {

// "auto" (CUDA if available, else CPU), "cpu", "cuda" or "cuda:N".
// INVALID_ARGUMENT for other names, UNAVAILABLE for CUDA without CUDA.
absl::StatusOr<torch::Device> SelectDevice(absl::string_view name);

// Sets LibTorch's intra-op threads to `threads` (>= 1) and, on the first call
// in a process, the inter-op pool to 1 (it can only be set once).
absl::Status ConfigureThreads(int threads);

// "cpu" or "cuda:0".
std::string DeviceName(const torch::Device& device);

}  // namespace ad::learner

#endif  // AD_LEARNER_DEVICE_H_
