#include "learner/torch_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace ad::learner {

absl::Status StatusFromTorchError(const c10::Error& e,
                                  absl::string_view context) {
  // what_without_backtrace() keeps the message to the point; the backtrace
  // is only useful in a debugger.
  std::string message = absl::StrCat(context, ": ", e.what_without_backtrace());
  if (dynamic_cast<const c10::IndexError*>(&e) != nullptr ||
      dynamic_cast<const c10::ValueError*>(&e) != nullptr ||
      dynamic_cast<const c10::TypeError*>(&e) != nullptr) {
    return absl::InvalidArgumentError(message);
  }
  return absl::InternalError(message);
}

absl::Status StatusFromException(const std::exception& e,
                                 absl::string_view context) {
  return absl::UnknownError(absl::StrCat(context, ": ", e.what()));
}

}  // namespace ad::learner
