#include "actors/history_sink.h"

#include "absl/strings/str_cat.h"
#include "common/history_id.h"
#include "common/obs_bytes.h"
#include "common/status_macros.h"

namespace ad::actors {

absl::Status ValidateChunk(const ad::v1::HistoryMeta& meta,
                           const TransitionChunk& chunk) {
  if (meta.history_id().empty() || meta.env().empty() ||
      meta.task_id().empty() || meta.source().empty()) {
    return absl::InvalidArgumentError(
        "meta: history_id, env, task_id and source must all be non-empty");
  }
  for (char c : meta.history_id()) {
    if (!IsHistoryIdChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("meta.history_id '", meta.history_id(),
                       "' has a character outside ", kHistoryIdAlphabet));
    }
  }
  if (meta.obs_dim() == 0 || meta.num_actions() == 0) {
    return absl::InvalidArgumentError(
        "meta: obs_dim and num_actions must be positive");
  }
  const ad::v1::TransitionBatch& t = chunk.transitions;
  if (t.obs_dim() != meta.obs_dim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk.transitions.obs_dim is ", t.obs_dim(),
                     ", meta.obs_dim is ", meta.obs_dim()));
  }
  const int64_t n = t.actions_size();
  if (t.rewards_size() != n || static_cast<int64_t>(t.dones().size()) != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk.transitions: ", n, " actions but ", t.rewards_size(),
        " rewards and ", t.dones().size(), " dones (want one per action)"));
  }
  AD_RETURN_IF_ERROR(CheckObsFields("chunk.transitions", t.obs_size(),
                                    t.obs_u8().size(),
                                    static_cast<size_t>(n) * t.obs_dim()));
  int64_t done_count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t a = t.actions(static_cast<int>(i));
    if (a < 0 || a >= static_cast<int32_t>(meta.num_actions())) {
      return absl::InvalidArgumentError(
          absl::StrCat("chunk.transitions.actions[", i, "] = ", a,
                       " is outside [0, ", meta.num_actions(), ")"));
    }
    const auto d = static_cast<uint8_t>(t.dones()[i]);
    if (d > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chunk.transitions.dones[", i, "] = ", d, "; must be 0 or 1"));
    }
    done_count += d;
  }
  if (static_cast<int64_t>(chunk.episode_returns.size()) != done_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk.episode_returns has ", chunk.episode_returns.size(),
                     " entries but the chunk ends ", done_count, " episodes"));
  }
  return absl::OkStatus();
}

ad::v1::AppendRequest MakeAppendRequest(const ad::v1::HistoryMeta& meta,
                                        const TransitionChunk& chunk,
                                        bool final) {
  ad::v1::AppendRequest request;
  request.set_history_id(meta.history_id());
  request.set_seq(chunk.seq);
  if (chunk.seq == 0) {
    ad::v1::HistoryMeta* identity = request.mutable_meta();
    *identity = meta;
    identity->clear_length();
    identity->clear_episodes();
    identity->clear_episode_returns();
    identity->clear_complete();
  }
  *request.mutable_chunk() = chunk.transitions;
  request.set_final(final);
  return request;
}

}  // namespace ad::actors
