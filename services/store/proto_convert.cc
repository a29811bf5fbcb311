#include "services/store/proto_convert.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/obs_bytes.h"
#include "common/status_macros.h"
#include "common/text_escape.h"
#include "envs/registry.h"

namespace ad::services::store {
namespace {

template <typename T>
void CopyInto(absl::Span<const T> from,
              google::protobuf::RepeatedField<T>* to) {
  to->Resize(static_cast<int>(from.size()), T());
  if (!from.empty()) {
    std::memcpy(to->mutable_data(), from.data(), from.size() * sizeof(T));
  }
}

}  // namespace

absl::StatusOr<storage::TrajectoryStore::AppendResult> AppendFromProto(
    const ad::v1::AppendRequest& request, storage::TrajectoryStore& store) {
  storage::TrajectoryStore::AppendRequest append;
  storage::HistoryRecord meta;
  append.history_id = request.history_id();
  append.seq = request.seq();
  if (request.has_meta()) {
    if (!request.meta().history_id().empty() &&
        request.meta().history_id() != request.history_id()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "meta.history_id '", BoundedEcho(request.meta().history_id()),
          "' differs from history_id '", BoundedEcho(request.history_id()),
          "'"));
    }
    meta = IdentityFromProto(request.meta());
    append.meta = &meta;
  }
  std::vector<int32_t> widened;  // the chunk's obs_u8, if it used that
  AD_ASSIGN_OR_RETURN(append.chunk, ViewOf(request.chunk(), &widened));
  append.final = request.final();
  return store.Append(append);
}

absl::StatusOr<storage::TransitionsView> ViewOf(
    const ad::v1::TransitionBatch& batch, std::vector<int32_t>* scratch) {
  storage::TransitionsView v;
  v.obs_dim = batch.obs_dim();
  if (batch.obs_u8().empty()) {
    v.obs = absl::MakeConstSpan(batch.obs().data(), batch.obs_size());
  } else {
    AD_RETURN_IF_ERROR(
        CheckObsFields("chunk", batch.obs_size(), batch.obs_u8().size(),
                       uint64_t{batch.obs_dim()} *
                           static_cast<uint64_t>(batch.actions_size())));
    scratch->resize(batch.obs_u8().size());
    ObsFromBytes(batch.obs_u8(), absl::MakeSpan(*scratch));
    v.obs = *scratch;
  }
  v.actions = absl::MakeConstSpan(batch.actions().data(), batch.actions_size());
  v.rewards = absl::MakeConstSpan(batch.rewards().data(), batch.rewards_size());
  v.dones = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(batch.dones().data()),
      batch.dones().size());
  return v;
}

bool ObsTravelAsBytes(absl::string_view env) {
  absl::StatusOr<const envs::EnvFamily*> family =
      envs::FindFamily(std::string_view(env.data(), env.size()));
  return family.ok() && (*family)->space().obs_bytes;
}

void ToProto(const storage::TransitionsView& from, ad::v1::TransitionBatch* out,
             bool obs_bytes) {
  out->set_obs_dim(from.obs_dim);
  if (obs_bytes) {
    out->clear_obs();
    ObsToBytes(from.obs, out->mutable_obs_u8());
  } else {
    out->clear_obs_u8();
    CopyInto(from.obs, out->mutable_obs());
  }
  CopyInto(from.actions, out->mutable_actions());
  CopyInto(from.rewards, out->mutable_rewards());
  out->mutable_dones()->assign(reinterpret_cast<const char*>(from.dones.data()),
                               from.dones.size());
}

storage::HistoryRecord IdentityFromProto(const ad::v1::HistoryMeta& meta) {
  storage::HistoryRecord r;
  r.history_id = meta.history_id();
  r.env = meta.env();
  r.task_id = meta.task_id();
  r.source = meta.source();
  r.seed = meta.seed();
  r.stream = meta.stream();
  r.split = meta.split();
  r.obs_dim = meta.obs_dim();
  r.num_actions = meta.num_actions();
  return r;
}

void ToProto(const storage::HistoryRecord& r, ad::v1::HistoryMeta* out) {
  out->set_history_id(r.history_id);
  out->set_env(r.env);
  out->set_task_id(r.task_id);
  out->set_source(r.source);
  out->set_seed(r.seed);
  out->set_stream(r.stream);
  out->set_split(r.split);
  out->set_obs_dim(r.obs_dim);
  out->set_num_actions(r.num_actions);
  out->set_length(r.length);
  out->set_episodes(r.episodes);
  out->mutable_episode_returns()->Assign(r.episode_returns.begin(),
                                         r.episode_returns.end());
  out->set_complete(r.complete);
}

storage::WindowFilter FromProto(const ad::v1::WindowFilter& filter) {
  storage::WindowFilter f;
  f.env = filter.env();
  f.task_ids.assign(filter.task_ids().begin(), filter.task_ids().end());
  f.source = filter.source();
  f.split = filter.split().empty() ? storage::kTrainSplit : filter.split();
  f.complete_only = filter.complete_only();
  return f;
}

void ToProto(const storage::WindowBatch& batch, uint64_t batch_index,
             ad::v1::WindowBatch* out, bool obs_bytes) {
  out->set_batch_size(batch.batch_size);
  out->set_window_len(batch.window_len);
  out->set_batch_index(batch_index);
  ToProto(batch.transitions.view(), out->mutable_transitions(), obs_bytes);
  out->mutable_history_ids()->Clear();
  for (const std::string& id : batch.history_ids) out->add_history_ids(id);
  out->mutable_starts()->Assign(batch.starts.begin(), batch.starts.end());
}

}  // namespace ad::services::store
