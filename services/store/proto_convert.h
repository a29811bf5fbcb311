// Conversions between the wire types of ad.v1 (store.proto, common.proto)
// and the storage library's plain structs. Views borrow the message's
// arrays: the message must outlive the view.
#ifndef AD_SERVICES_STORE_PROTO_CONVERT_H_
#define AD_SERVICES_STORE_PROTO_CONVERT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ad/v1/common.pb.h"
#include "ad/v1/store.pb.h"
#include "storage/history.h"
#include "storage/trajectory_store.h"
#include "storage/transitions.h"
#include "storage/window_sampler.h"

namespace ad::services::store {

// One AppendRequest as the store service handles it: checks that
// meta.history_id, when set, is history_id (INVALID_ARGUMENT otherwise),
// converts the message and calls store.Append, whose errors are returned as
// they are. Nothing is written unless it returns OK.
absl::StatusOr<storage::TrajectoryStore::AppendResult> AppendFromProto(
    const ad::v1::AppendRequest& request, storage::TrajectoryStore& store);

// Borrows the packed arrays of `batch` (dones as bytes). Observations sent
// as obs_u8 are widened into `scratch`, which the view then borrows.
// INVALID_ARGUMENT naming the field when both obs and obs_u8 are set, or
// when obs_u8 does not hold actions_size() x obs_dim bytes (the other sizes
// are TransitionsView::Validate's to check).
absl::StatusOr<storage::TransitionsView> ViewOf(
    const ad::v1::TransitionBatch& batch, std::vector<int32_t>* scratch);

// True when observations of `env` travel as bytes: a known family whose
// space says obs_bytes (envs/env.h). The store answers such envs' reads
// (GetHistory, SampleWindows) in obs_u8.
bool ObsTravelAsBytes(absl::string_view env);

// Copies the transitions into `out`, replacing its arrays; observations go
// to obs_u8 with `obs_bytes` (every value must lie in [0, 256): dies
// otherwise), to obs without.
void ToProto(const storage::TransitionsView& from, ad::v1::TransitionBatch* out,
             bool obs_bytes = false);

// Identity fields only (history_id, env, task_id, source, seed, stream,
// split, obs_dim, num_actions).
storage::HistoryRecord IdentityFromProto(const ad::v1::HistoryMeta& meta);

// Every field, episode returns included.
void ToProto(const storage::HistoryRecord& record, ad::v1::HistoryMeta* out);

// Empty split means "train".
storage::WindowFilter FromProto(const ad::v1::WindowFilter& filter);

// Moves the sampled batch into `out` (index `batch_index`); observations
// as in ToProto(TransitionsView).
void ToProto(const storage::WindowBatch& batch, uint64_t batch_index,
             ad::v1::WindowBatch* out, bool obs_bytes = false);

}  // namespace ad::services::store

#endif  // AD_SERVICES_STORE_PROTO_CONVERT_H_
