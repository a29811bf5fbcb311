// The unary call of a typed client (StoreClient, LearnerClient): one RPC of
// a generated stub, its request, and a response that is cleared before each
// attempt, through CallWithRetry (client.h): deadlines, retries of
// UNAVAILABLE when the call is idempotent, errors prefixed with the method.
// And CallOnce, one attempt with the raw grpc::Status, for the tests that
// check what the wire carries. Both block for the call.
#ifndef AD_SERVICES_COMMON_UNARY_CALL_H_
#define AD_SERVICES_COMMON_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/client.h"

namespace ad::services {

// The response of `stub`'s unary method `rpc` (e.g.
// &ad::v1::StoreService::Stub::Stats) to `request`; `method` names it in
// errors; retried when `retry` (idempotent calls only).
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> UnaryCall(
    const UnaryClientOptions& options, const char* method, bool retry,
    Stub& stub,
    grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
    const Request& request) {
  Response response;
  const absl::Status status =
      CallWithRetry(options, method, retry, [&](grpc::ClientContext* context) {
        response.Clear();
        return (stub.*rpc)(context, request, &response);
      });
  if (!status.ok()) return status;
  return response;
}

// One attempt of `stub`'s unary method `rpc` on `request` with a deadline
// `timeout` from now; the response goes to `response`.
template <typename Stub, typename Request, typename Response>
grpc::Status CallOnce(Stub& stub,
                      grpc::Status (Stub::*rpc)(grpc::ClientContext*,
                                                const Request&, Response*),
                      const Request& request, Response* response,
                      absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(context, timeout);
  return (stub.*rpc)(&context, request, response);
}

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_UNARY_CALL_H_
