// Error-propagation macros for absl::Status / absl::StatusOr inside the core.
//
//   AD_RETURN_IF_ERROR(DoThing());
//   AD_ASSIGN_OR_RETURN(auto value, ComputeValue());
//
// Conversions to and from other status types live in one adapter each, at the
// module that owns the third-party dependency (storage/, learner/, services/).
#ifndef AD_COMMON_STATUS_MACROS_H_
#define AD_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AD_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status ad_status_ = (expr);      \
    if (!ad_status_.ok()) return ad_status_; \
  } while (false)

#define AD_STATUS_CONCAT_INNER_(a, b) a##b
#define AD_STATUS_CONCAT_(a, b) AD_STATUS_CONCAT_INNER_(a, b)

#define AD_ASSIGN_OR_RETURN(lhs, expr)                                      \
  AD_ASSIGN_OR_RETURN_IMPL_(AD_STATUS_CONCAT_(ad_statusor_, __LINE__), lhs, \
                            expr)

#define AD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()

#endif  // AD_COMMON_STATUS_MACROS_H_
