// The evaluator's HistorySource (evaluator/history_source.h) backed by the
// trajectory store: a task's histories come from StoreService.QueryTask
// (metadata with per-episode returns) and their transitions from GetHistory.
// Everything goes through StoreClient (store_client.h), so every call has a
// deadline and UNAVAILABLE is retried with the project's one backoff policy.
//
// Who calls it: the programs that run evaluator experiments (ad-evaluator,
// `adctl eval`) hand StoreHistoryOpener() to RunExperiment through
// ExperimentHooks::open_store; the evaluator library itself knows no gRPC.
// Thread-compatible: the experiment runner uses one source from one thread.
#ifndef AD_SERVICES_STORE_STORE_HISTORY_SOURCE_H_
#define AD_SERVICES_STORE_STORE_HISTORY_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "evaluator/experiments.h"
#include "evaluator/history_source.h"
#include "services/store/store_client.h"

namespace ad::services::store {

// A source reading from the store at options.address; the options are
// validated first (INVALID_ARGUMENT naming the field). Does not connect yet.
absl::StatusOr<std::unique_ptr<evaluator::HistorySource>>
MakeStoreHistorySource(const StoreClient::Options& options);

// The opener RunExperiment uses for EvalSpec.store: MakeStoreHistorySource
// with the default client options (30 s per attempt) at that address.
evaluator::StoreOpener StoreHistoryOpener();

}  // namespace ad::services::store

#endif  // AD_SERVICES_STORE_STORE_HISTORY_SOURCE_H_
