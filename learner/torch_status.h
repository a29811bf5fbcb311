// The one adapter between LibTorch's exceptions (c10::Error and the standard
// exceptions it throws) and absl::Status, used at every call into LibTorch
// whose failure depends on input (a file, a batch, a device), in the learner,
// the evaluator and the neural sources (actors/a3c.cc, actors/dqn.cc).
//
//   absl::StatusOr<torch::Tensor> t = TorchCall([&] { return Forward(x); });
//   absl::Status s = TorchCall([&] { archive.save_to(path); });
//
// Nothing here blocks or owns anything.
#ifndef AD_LEARNER_TORCH_STATUS_H_
#define AD_LEARNER_TORCH_STATUS_H_

#include <c10/util/Exception.h>

#include <exception>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ad::learner {

// Converts a caught exception into a status: c10::IndexError and
// c10::ValueError become INVALID_ARGUMENT, other c10::Errors INTERNAL, and
// std::exceptions UNKNOWN. `context` prefixes the message.
absl::Status StatusFromTorchError(const c10::Error& e,
                                  absl::string_view context);
absl::Status StatusFromException(const std::exception& e,
                                 absl::string_view context);

// Runs `fn`, turning any exception into a status. `fn` returns void or a
// value T; TorchCall returns absl::Status or absl::StatusOr<T>.
template <typename Fn>
auto TorchCall(Fn&& fn, absl::string_view context = "libtorch") {
  using R = std::invoke_result_t<Fn>;
  if constexpr (std::is_void_v<R>) {
    try {
      std::forward<Fn>(fn)();
      return absl::OkStatus();
    } catch (const c10::Error& e) {
      return StatusFromTorchError(e, context);
    } catch (const std::exception& e) {
      return StatusFromException(e, context);
    }
  } else {
    try {
      return absl::StatusOr<R>(std::forward<Fn>(fn)());
    } catch (const c10::Error& e) {
      return absl::StatusOr<R>(StatusFromTorchError(e, context));
    } catch (const std::exception& e) {
      return absl::StatusOr<R>(StatusFromException(e, context));
    }
  }
}

}  // namespace ad::learner

#endif  // AD_LEARNER_TORCH_STATUS_H_
