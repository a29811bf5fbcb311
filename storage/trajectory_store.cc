// The trajectory store (trajectory_store.h): options, opening RocksDB, and
// the recovery scan that rebuilds the in-memory index at Open (and pins
// shapes for stores written before pins existed). Appends and deletions are
// in trajectory_store_write.cc, queries and reads in
// trajectory_store_read.cc.
#include "storage/trajectory_store.h"

#include <glog/logging.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/text_escape.h"
#include "storage/keyspace.h"
#include "storage/rocksdb_status.h"
#include "storage/trajectory_store_internal.h"

namespace ad::storage {
namespace {

namespace ks = keyspace;
using store_internal::ToView;

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

}  // namespace ad::storage
