// Appending to the trajectory store (trajectory_store.h): Append, which
// validates a chunk and commits it with its index entries in one atomic
// batch, and DeleteHistory; both then update the in-memory index and wake
// waiting samplers.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/text_escape.h"
#include "storage/keyspace.h"
#include "storage/rocksdb_status.h"
#include "storage/trajectory_store.h"
#include "storage/trajectory_store_internal.h"

namespace ad::storage {
namespace {

namespace ks = keyspace;
using store_internal::ToSlice;

}  // namespace

absl::Mutex& TrajectoryStore::AppendMutex(absl::string_view history_id) {
  return append_mu_[absl::Hash<absl::string_view>()(history_id) %
                    kAppendStripes];
}

void TrajectoryStore::AddProgress(uint64_t transitions, bool structural) {
  absl::MutexLock lock(&progress_mu_);
  appended_transitions_ += transitions;
  if (structural) ++structure_;
}

absl::StatusOr<TrajectoryStore::AppendResult> TrajectoryStore::Append(
    const AppendRequest& request) {
  AD_RETURN_IF_ERROR(ValidateHistoryId(request.history_id));
  const std::string id_echo = BoundedEcho(request.history_id);
  absl::MutexLock append_lock(&AppendMutex(request.history_id));

  // Current state of the history (stable while we hold its append stripe).
  HistoryRecord record;
  bool exists = false;
  uint64_t stored_len = 0;  // transitions of the stored chunk `request.seq`
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = by_id_.find(request.history_id); it != by_id_.end()) {
      exists = true;
      const HistoryState& h = *histories_[it->second];
      record = h.record;
      // Only the final chunk may be empty, so the non-empty chunks are the
      // first chunk_starts.size() seqs.
      if (request.seq < h.chunk_starts.size()) {
        const uint64_t end = request.seq + 1 < h.chunk_starts.size()
                                 ? h.chunk_starts[request.seq + 1]
                                 : record.length;
        stored_len = end - h.chunk_starts[request.seq];
      }
    }
  }

  if (!exists) {
    if (request.seq != 0) {
      return absl::NotFoundError(absl::StrCat(
          "history '", id_echo, "' is unknown: seq ", request.seq,
          " continues a history that was never started with seq 0 (or was "
          "deleted)"));
    }
    if (request.meta == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "meta is required with seq 0 (history '", id_echo, "')"));
    }
    record = *request.meta;
    record.history_id = request.history_id;
    record.episode_returns.clear();
    record.length = 0;
    record.episodes = 0;
    record.complete = false;
    record.next_seq = 0;
    record.open_return = 0;
    AD_RETURN_IF_ERROR(ValidateNewHistory(record));
  } else if (request.seq < record.next_seq) {
    if (request.seq == 0 && request.meta != nullptr) {
      HistoryRecord sent = *request.meta;
      sent.history_id = request.history_id;
      if (!SameIdentity(sent, record)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "history '", id_echo,
            "' already exists with a different identity (env '",
            BoundedEcho(record.env), "', task '", BoundedEcho(record.task_id),
            "', source '", BoundedEcho(record.source), "')"));
      }
    }
    // A retry resends the same chunk. One of another size is a different
    // chunking of the history (e.g. a restarted writer that flushed a short
    // chunk before and now regenerates whole ones): acknowledging it would
    // silently lose or shift transitions.
    if (request.chunk.size() != stored_len) {
      return absl::FailedPreconditionError(absl::StrCat(
          "seq ", request.seq, " of history '", id_echo, "' was stored with ",
          stored_len, " transitions; this chunk has ", request.chunk.size(),
          " (a different chunking of the history)"));
    }
    return AppendResult{request.seq, record.length, /*duplicate=*/true};
  } else if (request.seq > record.next_seq) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seq ", request.seq, " of history '", id_echo,
        "' is out of order: the next expected seq is ", record.next_seq));
  } else if (record.complete) {
    return absl::FailedPreconditionError(
        absl::StrCat("history '", id_echo, "' is complete; seq ", request.seq,
                     " cannot be added"));
  }

  // The family's space, when the env is a known family.
  const std::optional<FamilySpace> family = KnownFamilySpace(record.env);
  if (!exists && family.has_value()) {
    AD_RETURN_IF_ERROR(CheckShape(record.env, ShapeOf(record), family->shape,
                                  "the task family's space"));
  }

  const TransitionsView& chunk = request.chunk;
  const uint64_t n = chunk.size();
  if (chunk.obs_dim != record.obs_dim && !(n == 0 && chunk.obs_dim == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk.obs_dim is ", chunk.obs_dim, "; history '", id_echo,
                     "' has obs_dim ", record.obs_dim));
  }
  if (n == 0 && !request.final) {
    return absl::InvalidArgumentError(
        "chunk is empty; only the final chunk may be empty");
  }
  if (n > options_.max_chunk_transitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk has ", n, " transitions; at most ",
                     options_.max_chunk_transitions, " allowed"));
  }
  if (n > 0) {
    AD_RETURN_IF_ERROR(chunk.Validate(record.num_actions));
    if (family.has_value()) {
      AD_RETURN_IF_ERROR(CheckObservations(chunk, *family));
    }
  }

  // A new history is created under create_mu_: its env's shape pin and its
  // task's split are checked and written atomically with it.
  const bool is_new = !exists;
  std::optional<absl::MutexLock> create_lock;
  bool pin_env = false;
  if (is_new) {
    create_lock.emplace(&create_mu_);
    absl::ReaderMutexLock lock(&mu_);
    auto task = tasks_.find(TaskKey(record.env, record.task_id));
    if (task != tasks_.end() && task->second.split != record.split) {
      return absl::InvalidArgumentError(absl::StrCat(
          "meta.split is '", BoundedEcho(record.split), "' but task '",
          BoundedEcho(record.task_id), "' of env '", BoundedEcho(record.env),
          "' is in split '", task->second.split, "'"));
    }
    auto pin = env_shapes_.find(record.env);
    if (pin != env_shapes_.end()) {
      AD_RETURN_IF_ERROR(CheckShape(record.env, ShapeOf(record), pin->second,
                                    "pinned by the env's first history"));
    } else {
      pin_env = true;
    }
  }

  // One atomic batch: chunk, chunk index, finished episodes, record, task,
  // and the env's shape pin with its first history.
  rocksdb::WriteBatch batch;
  const uint64_t first = record.length;
  std::vector<uint64_t> new_episode_ends;
  int64_t first_rewarded = -1;  // among the episodes this chunk completes
  if (n > 0) {
    const std::string key = ks::HistoryKey(request.history_id, first);
    AD_RETURN_IF_ERROR(FromRocksDbStatus(
        batch.Put(chunks_cf_, key,
                  ks::EncodeChunk(request.seq, chunk,
                                  family.has_value() && family->obs_bytes &&
                                          options_.obs_bytes_in_chunks
                                      ? ks::ChunkObs::kBytes
                                      : ks::ChunkObs::kInt32)),
        "batching chunk"));
    AD_RETURN_IF_ERROR(FromRocksDbStatus(
        batch.Put(chunk_index_cf_, key, ks::EncodeChunkIndex(n, request.seq)),
        "batching chunk index"));
    for (uint64_t i = 0; i < n; ++i) {
      record.open_return += chunk.rewards[i];
      if (chunk.dones[i] != 0) {
        const uint64_t end = first + i + 1;
        AD_RETURN_IF_ERROR(FromRocksDbStatus(
            batch.Put(episodes_cf_,
                      ks::HistoryKey(request.history_id, record.episodes),
                      ks::EncodeEpisode(end, record.open_return)),
            "batching episode"));
        new_episode_ends.push_back(end);
        if (record.open_return > 0 && first_rewarded < 0) {
          first_rewarded = static_cast<int64_t>(record.episodes);
        }
        ++record.episodes;
        record.open_return = 0;
      }
    }
  }
  record.length += n;
  record.next_seq = request.seq + 1;
  record.complete = request.final;
  AD_RETURN_IF_ERROR(FromRocksDbStatus(
      batch.Put(meta_cf_, request.history_id, ks::EncodeRecord(record)),
      "batching record"));
  if (is_new) {
    AD_RETURN_IF_ERROR(FromRocksDbStatus(
        batch.Put(tasks_cf_,
                  ks::TaskKey(record.env, record.task_id, record.history_id),
                  rocksdb::Slice()),
        "batching task index"));
  }
  if (pin_env) {
    AD_RETURN_IF_ERROR(FromRocksDbStatus(
        batch.Put(env_shapes_cf_, record.env,
                  ks::EncodeEnvShape(record.obs_dim, record.num_actions)),
        "batching env shape"));
  }
  rocksdb::WriteOptions write;
  write.sync = options_.sync;
  AD_RETURN_IF_ERROR(FromRocksDbStatus(
      db_->Write(write, &batch),
      absl::StrCat("writing chunk ", request.seq, " of '", id_echo, "'")));

  {
    absl::MutexLock lock(&mu_);
    if (is_new) {
      HistoryState state;
      state.record = record;
      if (n > 0) state.chunk_starts.push_back(first);
      state.episode_ends = std::move(new_episode_ends);
      state.first_rewarded = first_rewarded;
      AddHistoryLocked(std::move(state));
      if (pin_env) env_shapes_[record.env] = ShapeOf(record);
    } else {
      HistoryState& h = *histories_[by_id_.at(request.history_id)];
      if (n > 0) h.chunk_starts.push_back(first);
      h.episode_ends.insert(h.episode_ends.end(), new_episode_ends.begin(),
                            new_episode_ends.end());
      if (h.first_rewarded < 0) h.first_rewarded = first_rewarded;
      h.record = record;
      total_transitions_ += n;
      if (record.complete) ++complete_histories_;
    }
    ++version_;
  }
  AddProgress(n, /*structural=*/is_new || record.complete);
  return AppendResult{request.seq, first + n, /*duplicate=*/false};
}

absl::StatusOr<HistoryRecord> TrajectoryStore::DeleteHistory(
    absl::string_view history_id) {
  const std::string id_echo = BoundedEcho(history_id);
  absl::MutexLock append_lock(&AppendMutex(history_id));
  absl::MutexLock create_lock(&create_mu_);
  HistoryRecord record;
  uint32_t index = 0;
  bool last_of_env = false;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_id_.find(history_id);
    if (it == by_id_.end()) {
      return absl::NotFoundError(
          absl::StrCat("history '", id_echo, "' is unknown to the store"));
    }
    index = it->second;
    record = histories_[index]->record;
    auto count = env_histories_.find(record.env);
    last_of_env = count != env_histories_.end() && count->second == 1;
  }
  AD_RETURN_IF_ERROR(ReadEpisodeReturns(&record));

  rocksdb::WriteBatch batch;
  const std::string begin = ks::HistoryPrefix(history_id);
  const std::string end = ks::HistoryPrefixEnd(history_id);
  for (rocksdb::ColumnFamilyHandle* cf :
       {chunks_cf_, chunk_index_cf_, episodes_cf_}) {
    AD_RETURN_IF_ERROR(FromRocksDbStatus(batch.DeleteRange(cf, begin, end),
                                         "batching a range delete"));
  }
  AD_RETURN_IF_ERROR(FromRocksDbStatus(
      batch.Delete(meta_cf_, ToSlice(history_id)), "batching record delete"));
  AD_RETURN_IF_ERROR(FromRocksDbStatus(
      batch.Delete(tasks_cf_,
                   ks::TaskKey(record.env, record.task_id, history_id)),
      "batching task index delete"));
  if (last_of_env) {
    AD_RETURN_IF_ERROR(FromRocksDbStatus(
        batch.Delete(env_shapes_cf_, record.env), "batching env shape delete"));
  }
  rocksdb::WriteOptions write;
  write.sync = true;  // a deletion is rare and must not come back
  AD_RETURN_IF_ERROR(
      FromRocksDbStatus(db_->Write(write, &batch),
                        absl::StrCat("deleting history '", id_echo, "'")));

  {
    absl::MutexLock lock(&mu_);
    HistoryState& h = *histories_[index];
    h.deleted = true;
    h.chunk_starts = {};
    h.episode_ends = {};
    h.first_rewarded = -1;
    by_id_.erase(record.history_id);
    auto task = tasks_.find(TaskKey(record.env, record.task_id));
    if (task != tasks_.end()) {
      auto& list = task->second.histories;
      list.erase(std::remove(list.begin(), list.end(), index), list.end());
      if (list.empty()) tasks_.erase(task);
    }
    total_transitions_ -= record.length;
    if (record.complete) --complete_histories_;
    if (--env_histories_[record.env] == 0) {
      env_histories_.erase(record.env);
      env_shapes_.erase(record.env);
    }
    ++version_;
  }
  AddProgress(0, /*structural=*/true);
  return record;
}

}  // namespace ad::storage
