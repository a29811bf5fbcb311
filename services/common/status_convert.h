// The one adapter between absl::Status (used inside the C++ core) and
// grpc::Status (used at the edges, in RPC handlers and clients).
//
// Both libraries use the canonical status codes with the same numeric values,
// so conversion keeps the code and the message unchanged. Payloads of
// absl::Status are not carried over the wire.
#ifndef AD_SERVICES_COMMON_STATUS_CONVERT_H_
#define AD_SERVICES_COMMON_STATUS_CONVERT_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ad::services {

// absl -> grpc: same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// grpc -> absl: same code, same message (error_details are dropped).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_STATUS_CONVERT_H_
