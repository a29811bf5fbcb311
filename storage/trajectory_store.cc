#include "storage/trajectory_store.h"

#include <glog/logging.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/text_escape.h"
#include "storage/keyspace.h"
#include "storage/rocksdb_status.h"

namespace ad::storage {
namespace {

namespace ks = keyspace;

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

rocksdb::ColumnFamilyOptions FamilyOptions(
    const std::shared_ptr<rocksdb::Cache>& cache, size_t block_bytes,
    size_t write_buffer_bytes, bool compress) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = block_bytes;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = write_buffer_bytes;
  cf.max_write_buffer_number = 2;
  cf.target_file_size_base = 64 << 20;
  cf.compression = rocksdb::kNoCompression;
  if (compress) {
    for (rocksdb::CompressionType c : rocksdb::GetSupportedCompressions()) {
      if (c == rocksdb::kLZ4Compression) cf.compression = c;
    }
  }
  return cf;
}

}  // namespace

absl::Status TrajectoryStore::Options::Validate() const {
  if (path.empty()) return absl::InvalidArgumentError("path must be set");
  if (block_cache_bytes < (size_t{8} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat("block_cache_bytes is ",
                                                   block_cache_bytes,
                                                   "; must be at least 8 MiB"));
  }
  if (write_buffer_bytes < (size_t{1} << 20) ||
      write_buffer_bytes >= block_cache_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("write_buffer_bytes is ", write_buffer_bytes,
                     "; must be at least 1 MiB and below block_cache_bytes (",
                     block_cache_bytes, ")"));
  }
  if (max_chunk_transitions == 0) {
    return absl::InvalidArgumentError("max_chunk_transitions must be >= 1");
  }
  return absl::OkStatus();
}

TrajectoryStore::TrajectoryStore(const Options& options)
    : options_(options), chunk_cache_(options.chunk_cache_bytes) {}

TrajectoryStore::~TrajectoryStore() {
  if (db_ != nullptr) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
  }
}

absl::StatusOr<std::unique_ptr<TrajectoryStore>> TrajectoryStore::Open(
    const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<TrajectoryStore> store(new TrajectoryStore(options));
  AD_RETURN_IF_ERROR(store->OpenDb());
  AD_RETURN_IF_ERROR(store->LoadIndex());
  return store;
}

absl::Status TrajectoryStore::OpenDb() {
  // RocksDB creates only the last path component; make the parents too so
  // --db=runs/new/store works on a fresh checkout.
  std::error_code ec;
  const std::filesystem::path parent =
      std::filesystem::path(options_.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("store path ", options_.path, ": cannot create ",
                     parent.string(), ": ", ec.message()));
  }
  block_cache_ = rocksdb::NewLRUCache(options_.block_cache_bytes);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // Memtables are charged to the block cache so that one number bounds
  // RocksDB's memory.
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options_.write_buffer_bytes,
                                                    block_cache_);
  db_options.atomic_flush = true;  // checkpoints consistent across families
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  db_options.max_total_wal_size = 4 * options_.write_buffer_bytes;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;

  const size_t small_buffer =
      std::max<size_t>(options_.write_buffer_bytes / 8, size_t{1} << 20);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName,
       FamilyOptions(block_cache_, 4 << 10, small_buffer, false)},
      {ks::kMetaFamily,
       FamilyOptions(block_cache_, 4 << 10, small_buffer, false)},
      {ks::kChunksFamily, FamilyOptions(block_cache_, 32 << 10,
                                        options_.write_buffer_bytes / 2, true)},
      {ks::kChunkIndexFamily,
       FamilyOptions(block_cache_, 4 << 10, small_buffer, false)},
      {ks::kEpisodesFamily,
       FamilyOptions(block_cache_, 4 << 10, small_buffer, false)},
      {ks::kTasksFamily,
       FamilyOptions(block_cache_, 4 << 10, small_buffer, false)},
      {ks::kEnvShapesFamily,
       FamilyOptions(block_cache_, 4 << 10, small_buffer, false)},
  };
  rocksdb::DB* db = nullptr;
  AD_RETURN_IF_ERROR(FromRocksDbStatus(
      rocksdb::DB::Open(db_options, options_.path, families, &handles_, &db),
      absl::StrCat("opening the store at ", options_.path)));
  db_.reset(db);
  meta_cf_ = handles_[1];
  chunks_cf_ = handles_[2];
  chunk_index_cf_ = handles_[3];
  episodes_cf_ = handles_[4];
  tasks_cf_ = handles_[5];
  env_shapes_cf_ = handles_[6];
  return absl::OkStatus();
}

absl::Status TrajectoryStore::LoadIndex() {
  absl::MutexLock lock(&mu_);
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, meta_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      HistoryState state;
      AD_RETURN_IF_ERROR(ks::DecodeRecord(ToView(it->value()), &state.record));
      AddHistoryLocked(std::move(state));
    }
    AD_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning meta"));
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(read, env_shapes_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      EnvShape shape;
      AD_RETURN_IF_ERROR(ks::DecodeEnvShape(ToView(it->value()), &shape.obs_dim,
                                            &shape.num_actions));
      env_shapes_[std::string(ToView(it->key()))] = shape;
    }
    AD_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning env_shapes"));
  }
  AD_RETURN_IF_ERROR(PinLegacyShapesLocked());
  // chunk_index and episodes: keys of one history are contiguous and in
  // transition order, so each vector is filled already sorted.
  auto scan = [&](rocksdb::ColumnFamilyHandle* cf, const char* what,
                  auto&& add) -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      absl::string_view id;
      uint64_t index = 0;
      AD_RETURN_IF_ERROR(ks::ParseHistoryKey(ToView(it->key()), &id, &index));
      auto found = by_id_.find(id);
      if (found == by_id_.end()) {
        return absl::DataLossError(
            absl::StrCat(what, " entry for unknown history '", id, "'"));
      }
      AD_RETURN_IF_ERROR(
          add(*histories_[found->second], index, ToView(it->value())));
    }
    return FromRocksDbStatus(it->status(), absl::StrCat("scanning ", what));
  };
  AD_RETURN_IF_ERROR(scan(chunk_index_cf_, "chunk_index",
                          [](HistoryState& h, uint64_t first,
                             absl::string_view value) -> absl::Status {
                            uint64_t count = 0, seq = 0;
                            AD_RETURN_IF_ERROR(
                                ks::DecodeChunkIndex(value, &count, &seq));
                            h.chunk_starts.push_back(first);
                            return absl::OkStatus();
                          }));
  AD_RETURN_IF_ERROR(scan(episodes_cf_, "episodes",
                          [](HistoryState& h, uint64_t episode,
                             absl::string_view value) -> absl::Status {
                            uint64_t end = 0;
                            float ret = 0;
                            AD_RETURN_IF_ERROR(
                                ks::DecodeEpisode(value, &end, &ret));
                            if (episode != h.episode_ends.size()) {
                              return absl::DataLossError("episode gap");
                            }
                            if (ret > 0 && h.first_rewarded < 0) {
                              h.first_rewarded = static_cast<int64_t>(episode);
                            }
                            h.episode_ends.push_back(end);
                            return absl::OkStatus();
                          }));
  for (const auto& h : histories_) {
    if (h->episode_ends.size() != h->record.episodes ||
        (h->record.length > 0 && h->chunk_starts.empty())) {
      return absl::DataLossError(
          absl::StrCat("history '", h->record.history_id,
                       "': index entries disagree with its record"));
    }
  }
  LOG(INFO) << "store at " << options_.path << ": " << histories_.size()
            << " histories, " << total_transitions_ << " transitions, "
            << tasks_.size() << " tasks";
  return absl::OkStatus();
}

absl::Status TrajectoryStore::PinLegacyShapesLocked() {
  // Envs with histories but no pin: the family's shape, or else the most
  // common shape among the env's histories.
  absl::flat_hash_map<std::string, absl::flat_hash_map<uint64_t, uint64_t>>
      counts;  // env -> (obs_dim << 32 | num_actions) -> histories
  for (const auto& h : histories_) {
    if (env_shapes_.contains(h->record.env)) continue;
    ++counts[h->record.env]
            [uint64_t{h->record.obs_dim} << 32 | h->record.num_actions];
  }
  rocksdb::WriteBatch batch;
  for (const auto& [env, shapes] : counts) {
    EnvShape pin;
    if (std::optional<FamilySpace> family = KnownFamilySpace(env)) {
      pin = family->shape;
    } else {
      uint64_t best = 0, best_count = 0;
      for (const auto& [packed, n] : shapes) {
        if (n > best_count || (n == best_count && packed < best)) {
          best = packed;
          best_count = n;
        }
      }
      pin = EnvShape{static_cast<uint32_t>(best >> 32),
                     static_cast<uint32_t>(best & 0xffffffffu)};
    }
    env_shapes_[env] = pin;
    AD_RETURN_IF_ERROR(FromRocksDbStatus(
        batch.Put(env_shapes_cf_, env,
                  ks::EncodeEnvShape(pin.obs_dim, pin.num_actions)),
        "batching env shape"));
    LOG(INFO) << "store: pinned env '" << BoundedEcho(env) << "' to obs_dim "
              << pin.obs_dim << ", num_actions " << pin.num_actions;
  }
  if (batch.Count() > 0) {
    rocksdb::WriteOptions write;
    write.sync = true;
    AD_RETURN_IF_ERROR(
        FromRocksDbStatus(db_->Write(write, &batch), "writing env shapes"));
  }
  for (auto& h : histories_) {
    auto pin = env_shapes_.find(h->record.env);
    if (pin != env_shapes_.end() && ShapeOf(h->record) != pin->second) {
      h->off_shape = true;
      LOG(WARNING) << "store: history '" << BoundedEcho(h->record.history_id)
                   << "' has obs_dim " << h->record.obs_dim << ", num_actions "
                   << h->record.num_actions << " but env '"
                   << BoundedEcho(h->record.env) << "' is pinned to "
                   << pin->second.obs_dim << ", " << pin->second.num_actions
                   << "; it is never sampled (adctl store delete it)";
    }
  }
  return absl::OkStatus();
}

absl::Mutex& TrajectoryStore::AppendMutex(absl::string_view history_id) {
  return append_mu_[absl::Hash<absl::string_view>()(history_id) %
                    kAppendStripes];
}

void TrajectoryStore::AddProgress(uint64_t transitions, bool structural) {
  absl::MutexLock lock(&progress_mu_);
  appended_transitions_ += transitions;
  if (structural) ++structure_;
}

uint32_t TrajectoryStore::AddHistoryLocked(HistoryState state) {
  const uint32_t index = static_cast<uint32_t>(histories_.size());
  ++env_histories_[state.record.env];
  by_id_[state.record.history_id] = index;
  TaskState& task = tasks_[TaskKey(state.record.env, state.record.task_id)];
  if (task.histories.empty()) task.split = state.record.split;
  task.histories.push_back(index);
  total_transitions_ += state.record.length;
  if (state.record.complete) ++complete_histories_;
  histories_.push_back(std::make_unique<HistoryState>(std::move(state)));
  return index;
}

absl::StatusOr<TrajectoryStore::AppendResult> TrajectoryStore::Append(
    const AppendRequest& request) {
  AD_RETURN_IF_ERROR(ValidateHistoryId(request.history_id));
  const std::string id_echo = BoundedEcho(request.history_id);
  absl::MutexLock append_lock(&AppendMutex(request.history_id));

  // Current state of the history (stable while we hold its append stripe).
  HistoryRecord record;
  bool exists = false;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = by_id_.find(request.history_id); it != by_id_.end()) {
      exists = true;
      record = histories_[it->second]->record;
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
        batch.Put(chunks_cf_, key, ks::EncodeChunk(request.seq, chunk)),
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
