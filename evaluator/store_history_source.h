// A HistorySource backed by the trajectory store: StoreService.QueryTask for
// a task's history metadata (with per-episode returns) and GetHistory for
// transitions (proto/ad/v1/store.proto). Every RPC has a deadline and
// UNAVAILABLE is retried with backoff (services/common/client.h). Calls block
// for at most `rpc_timeout` per attempt. The gRPC channel is owned here.
#ifndef AD_EVALUATOR_STORE_HISTORY_SOURCE_H_
#define AD_EVALUATOR_STORE_HISTORY_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "evaluator/history_source.h"

namespace ad::evaluator {

struct StoreHistorySourceOptions {
  std::string address;                             // "host:port" of ad-store
  absl::Duration rpc_timeout = absl::Seconds(30);  // per attempt
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<HistorySource>> MakeStoreHistorySource(
    const StoreHistorySourceOptions& options);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_STORE_HISTORY_SOURCE_H_
