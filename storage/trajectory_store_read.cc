// Reading the trajectory store (trajectory_store.h): task and history
// queries, range reads, stats, memory usage and checkpoints, and the
// accessors WindowSampler uses (progress, VisitHistories, CopyTransitions
// through the decoded-chunk cache).
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
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
using store_internal::ToView;

}  // namespace

absl::StatusOr<EnvShape> TrajectoryStore::GetEnvShape(
    absl::string_view env) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = env_shapes_.find(env);
  if (it == env_shapes_.end()) {
    return absl::NotFoundError(
        absl::StrCat("env '", BoundedEcho(env), "' has no history"));
  }
  return it->second;
}

std::vector<TrajectoryStore::TaskSummary> TrajectoryStore::ListTasks(
    absl::string_view env, absl::string_view split) const {
  std::vector<TaskSummary> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [key, task] : tasks_) {
    if (!env.empty() && key.first != env) continue;
    if (!split.empty() && task.split != split) continue;
    TaskSummary summary{key.first, key.second, task.split,
                        task.histories.size(), 0};
    for (uint32_t index : task.histories) {
      summary.transitions += histories_[index]->record.length;
    }
    out.push_back(std::move(summary));
  }
  std::sort(out.begin(), out.end(),
            [](const TaskSummary& a, const TaskSummary& b) {
              return std::tie(a.env, a.task_id) < std::tie(b.env, b.task_id);
            });
  return out;
}

absl::Status TrajectoryStore::ReadEpisodeReturns(HistoryRecord* record) const {
  record->episode_returns.clear();
  const std::string prefix = ks::HistoryPrefix(record->history_id);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), episodes_cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    uint64_t end = 0;
    float ret = 0;
    AD_RETURN_IF_ERROR(ks::DecodeEpisode(ToView(it->value()), &end, &ret));
    record->episode_returns.push_back(ret);
  }
  AD_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning episodes"));
  // Appends racing with this scan may have added episodes to the store
  // after `record` was copied: report the ones the record counts.
  if (record->episode_returns.size() > record->episodes) {
    record->episode_returns.resize(record->episodes);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<HistoryRecord>> TrajectoryStore::QueryTask(
    absl::string_view env, absl::string_view task_id) const {
  std::vector<std::string> envs;
  if (!env.empty()) {
    envs.emplace_back(env);
  } else {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [key, task] : tasks_) {
      if (key.second == task_id) envs.push_back(key.first);
    }
    std::sort(envs.begin(), envs.end());
  }
  std::vector<HistoryRecord> out;
  for (const std::string& e : envs) {
    // The task index is a range scan over env \0 task_id \0 *.
    const std::string prefix = ks::TaskPrefix(e, task_id);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), tasks_cf_));
    std::vector<std::string> ids;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      absl::string_view key_env, key_task, id;
      AD_RETURN_IF_ERROR(
          ks::ParseTaskKey(ToView(it->key()), &key_env, &key_task, &id));
      ids.emplace_back(id);
    }
    AD_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning tasks"));
    for (const std::string& id : ids) {
      AD_ASSIGN_OR_RETURN(HistoryRecord record, GetHistory(id));
      out.push_back(std::move(record));
    }
  }
  if (out.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "task '", BoundedEcho(task_id), "'", env.empty() ? "" : " of env '",
        env.empty() ? "" : BoundedEcho(env), env.empty() ? "" : "'",
        " is unknown to the store"));
  }
  return out;
}

absl::StatusOr<HistoryRecord> TrajectoryStore::GetHistory(
    absl::string_view history_id) const {
  HistoryRecord record;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_id_.find(history_id);
    if (it == by_id_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "history '", BoundedEcho(history_id), "' is unknown to the store"));
    }
    record = histories_[it->second]->record;
  }
  AD_RETURN_IF_ERROR(ReadEpisodeReturns(&record));
  return record;
}

absl::StatusOr<Transitions> TrajectoryStore::ReadRange(
    absl::string_view history_id, uint64_t begin, uint64_t end) const {
  uint64_t seek_from = 0;
  uint32_t obs_dim = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_id_.find(history_id);
    if (it == by_id_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "history '", BoundedEcho(history_id), "' is unknown to the store"));
    }
    const HistoryState& h = *histories_[it->second];
    if (begin > end || end > h.record.length) {
      return absl::OutOfRangeError(absl::StrCat(
          "range [", begin, ", ", end, ") of history '",
          BoundedEcho(history_id), "' is outside [0, ", h.record.length, ")"));
    }
    obs_dim = h.record.obs_dim;
    if (begin < end) {
      auto c =
          std::upper_bound(h.chunk_starts.begin(), h.chunk_starts.end(), begin);
      seek_from = *(c - 1);
    }
  }
  Transitions out;
  out.obs_dim = obs_dim;
  if (begin == end) return out;
  const std::string prefix = ks::HistoryPrefix(history_id);
  const std::string upper = ks::HistoryKey(history_id, end);
  rocksdb::Slice upper_slice = ToSlice(upper);
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.iterate_upper_bound = &upper_slice;
  read.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, chunks_cf_));
  Transitions chunk;
  for (it->Seek(ks::HistoryKey(history_id, seek_from));
       it->Valid() && out.size() < end - begin; it->Next()) {
    absl::string_view id;
    uint64_t first = 0, seq = 0;
    AD_RETURN_IF_ERROR(ks::ParseHistoryKey(ToView(it->key()), &id, &first));
    AD_RETURN_IF_ERROR(ks::DecodeChunk(ToView(it->value()), &seq, &chunk));
    const uint64_t from = std::max(begin, first);
    const uint64_t to = std::min<uint64_t>(end, first + chunk.size());
    if (from < to) out.Append(chunk.view(), from - first, to - from);
  }
  AD_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning chunks"));
  if (out.size() != end - begin) {
    return absl::DataLossError(
        absl::StrCat("history '", BoundedEcho(history_id),
                     "' is missing chunks in [", begin, ", ", end, ")"));
  }
  return out;
}

TrajectoryStore::Stats TrajectoryStore::GetStats() const {
  Stats stats;
  {
    absl::ReaderMutexLock lock(&mu_);
    stats.histories = by_id_.size();
    stats.complete_histories = complete_histories_;
    stats.transitions = total_transitions_;
    stats.tasks = tasks_.size();
  }
  for (rocksdb::ColumnFamilyHandle* cf : handles_) {
    uint64_t value = 0;
    if (db_->GetIntProperty(cf, rocksdb::DB::Properties::kTotalSstFilesSize,
                            &value)) {
      stats.db_bytes += value;
    }
    if (db_->GetIntProperty(cf, rocksdb::DB::Properties::kCurSizeAllMemTables,
                            &value)) {
      stats.db_bytes += value;
    }
  }
  return stats;
}

TrajectoryStore::MemoryUsage TrajectoryStore::GetMemoryUsage() const {
  MemoryUsage usage;
  usage.block_cache = block_cache_->GetUsage();
  usage.block_cache_pinned = block_cache_->GetPinnedUsage();
  for (rocksdb::ColumnFamilyHandle* cf : handles_) {
    uint64_t value = 0;
    if (db_->GetIntProperty(cf, rocksdb::DB::Properties::kCurSizeAllMemTables,
                            &value)) {
      usage.memtables += value;
    }
  }
  usage.chunk_cache = chunk_cache_.usage_bytes();
  return usage;
}

absl::Status TrajectoryStore::Checkpoint(const std::string& directory) const {
  std::error_code error;
  if (std::filesystem::exists(directory, error)) {
    return absl::AlreadyExistsError(
        absl::StrCat("checkpoint directory '", directory, "' already exists"));
  }
  rocksdb::Checkpoint* raw = nullptr;
  AD_RETURN_IF_ERROR(FromRocksDbStatus(
      rocksdb::Checkpoint::Create(db_.get(), &raw), "creating a checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocksDbStatus(checkpoint->CreateCheckpoint(directory),
                           absl::StrCat("checkpointing into ", directory));
}

uint64_t TrajectoryStore::version() const {
  absl::ReaderMutexLock lock(&mu_);
  return version_;
}

TrajectoryStore::Progress TrajectoryStore::progress() const {
  absl::MutexLock lock(&progress_mu_);
  return Progress{appended_transitions_, structure_};
}

bool TrajectoryStore::WaitForProgress(uint64_t min_appended,
                                      uint64_t seen_structure,
                                      absl::Time deadline) const {
  // Woken by Append and DeleteHistory (AddProgress) or by the deadline; the
  // condition is a comparison, evaluated once per AddProgress.
  struct Wait {
    const TrajectoryStore* store;
    uint64_t min_appended;
    uint64_t seen_structure;
    static bool Reached(Wait* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return w->store->appended_transitions_ >= w->min_appended ||
             w->store->structure_ != w->seen_structure;
    }
  } wait{this, min_appended, seen_structure};
  absl::MutexLock lock(&progress_mu_);
  return progress_mu_.AwaitWithDeadline(absl::Condition(&Wait::Reached, &wait),
                                        deadline);
}

void TrajectoryStore::VisitHistories(
    absl::FunctionRef<void(uint32_t, const HistoryRecord&, const EpisodeIndex&)>
        fn) const {
  absl::ReaderMutexLock lock(&mu_);
  for (uint32_t i = 0; i < histories_.size(); ++i) {
    const HistoryState& h = *histories_[i];
    if (h.deleted || h.off_shape) continue;
    fn(i, h.record, EpisodeIndex{h.episode_ends, h.first_rewarded});
  }
}

absl::StatusOr<ChunkCache::Value> TrajectoryStore::GetChunk(
    uint32_t index, const std::string& history_id, uint64_t first) const {
  const ChunkCache::Key key{index, first};
  if (ChunkCache::Value hit = chunk_cache_.Lookup(key)) return hit;
  rocksdb::PinnableSlice value;
  AD_RETURN_IF_ERROR(FromRocksDbStatus(
      db_->Get(rocksdb::ReadOptions(), chunks_cf_,
               ks::HistoryKey(history_id, first), &value),
      absl::StrCat("reading chunk at ", first, " of '", history_id, "'")));
  auto chunk = std::make_shared<Transitions>();
  uint64_t seq = 0;
  AD_RETURN_IF_ERROR(ks::DecodeChunk(ToView(value), &seq, chunk.get()));
  chunk_cache_.Insert(key, chunk);
  return chunk;
}

absl::Status TrajectoryStore::CopyTransitions(
    uint32_t index, uint64_t begin, uint64_t count,
    const TransitionPointers& dst) const {
  const uint64_t end = begin + count;
  const HistoryState* h = nullptr;
  absl::InlinedVector<uint64_t, 4> firsts;  // chunks covering [begin, end)
  {
    absl::ReaderMutexLock lock(&mu_);
    if (index >= histories_.size()) {
      return absl::OutOfRangeError(absl::StrCat("history index ", index));
    }
    h = histories_[index].get();
    if (h->deleted) {
      return absl::NotFoundError(absl::StrCat(
          "history '", BoundedEcho(h->record.history_id), "' was deleted"));
    }
    if (count == 0) return absl::OkStatus();
    if (end > h->record.length) {
      return absl::OutOfRangeError(
          absl::StrCat("range [", begin, ", ", end, ") of history '",
                       BoundedEcho(h->record.history_id), "' is not stored"));
    }
    const auto& starts = h->chunk_starts;
    size_t i = std::upper_bound(starts.begin(), starts.end(), begin) -
               starts.begin() - 1;
    for (; i < starts.size() && starts[i] < end; ++i) {
      firsts.push_back(starts[i]);
    }
  }
  // history_id never changes once the history exists; safe without mu_.
  const std::string& id = h->record.history_id;
  uint64_t done = 0;
  for (uint64_t first : firsts) {
    AD_ASSIGN_OR_RETURN(ChunkCache::Value chunk, GetChunk(index, id, first));
    const uint64_t from = std::max(begin, first);
    const uint64_t to = std::min<uint64_t>(end, first + chunk->size());
    if (from >= to) continue;
    const uint64_t k = to - from, off = from - first, d = chunk->obs_dim;
    std::copy_n(chunk->obs.data() + off * d, k * d, dst.obs + done * d);
    std::copy_n(chunk->actions.data() + off, k, dst.actions + done);
    std::copy_n(chunk->rewards.data() + off, k, dst.rewards + done);
    std::copy_n(chunk->dones.data() + off, k, dst.dones + done);
    done += k;
  }
  if (done != count) {
    return absl::DataLossError(absl::StrCat("history '", BoundedEcho(id),
                                            "' is missing chunks in [", begin,
                                            ", ", end, ")"));
  }
  return absl::OkStatus();
}

}  // namespace ad::storage
