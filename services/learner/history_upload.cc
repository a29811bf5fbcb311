#include "services/learner/history_upload.h"

#include <algorithm>

#include "common/status_macros.h"

namespace ad::services::learner {

absl::Status UploadHistories(const std::vector<ad::learner::History>& histories,
                             const UploadOptions& options,
                             store::StoreSink& sink) {
  uint64_t seed = 0;
  for (const ad::learner::History& h : histories) {
    ad::v1::HistoryMeta meta;
    meta.set_history_id(h.history_id);
    meta.set_env(options.env);
    meta.set_task_id(h.task_id);
    meta.set_source(options.source);
    meta.set_seed(seed++);
    meta.set_split(h.split);
    meta.set_obs_dim(h.obs_dim);
    meta.set_num_actions(options.num_actions);
    const int64_t n = h.length();
    uint64_t seq = 0;
    float episode_return = 0;  // of the episode in progress, across chunks
    for (int64_t first = 0; first < n || (n == 0 && seq == 0);
         first += options.chunk_transitions) {
      const int64_t last =
          std::min<int64_t>(n, first + options.chunk_transitions);
      ad::actors::TransitionChunk chunk;
      chunk.seq = seq++;
      chunk.first = static_cast<uint64_t>(first);
      ad::v1::TransitionBatch& t = chunk.transitions;
      t.set_obs_dim(h.obs_dim);
      t.mutable_obs()->Add(h.obs.begin() + first * h.obs_dim,
                           h.obs.begin() + last * h.obs_dim);
      t.mutable_actions()->Add(h.actions.begin() + first,
                               h.actions.begin() + last);
      t.mutable_rewards()->Add(h.rewards.begin() + first,
                               h.rewards.begin() + last);
      t.mutable_dones()->assign(h.dones.begin() + first,
                                h.dones.begin() + last);
      for (int64_t i = first; i < last; ++i) {
        episode_return += h.rewards[i];
        if (h.dones[i]) {
          chunk.episode_returns.push_back(episode_return);
          episode_return = 0;
        }
      }
      AD_RETURN_IF_ERROR(sink.Append(meta, chunk, /*final=*/last == n));
      if (n == 0) break;
    }
  }
  return sink.Flush(options.flush_timeout);
}

}  // namespace ad::services::learner
