// The durable trajectory store: learning histories appended chunk by chunk
// into RocksDB (keyspace.h), queried by task, read by range, and sampled as
// windows by WindowSampler (window_sampler.h).
//
// Durability: every Append commits one rocksdb::WriteBatch (the chunk, its
// chunk-index entry, the episodes it completes, the updated history record
// and, for a new history, its task-index entry) through the write-ahead log,
// so a chunk is either wholly present or absent. With Options::sync == false
// (the default) the WAL record is handed to the kernel before Append
// returns: an acknowledged chunk survives the store process being killed
// (SIGKILL, crash) but the last few writes may be lost on power loss or a
// kernel crash. With sync == true the WAL is fsync'ed before Append returns,
// which survives power loss at the cost of one fsync per (group of) appends.
//
// Idempotence: chunks of a history carry sequence numbers 0, 1, 2, ... A
// chunk whose seq was already stored is acknowledged as a duplicate and
// nothing is written; a seq beyond the next expected one is rejected
// (INVALID_ARGUMENT), so retries never store a chunk twice.
//
// Validation: one bad writer must not make the data unusable, so Append
// checks every value before writing anything: rewards finite, actions in
// [0, num_actions), done bytes 0/1, and, when the env is a known task family
// (storage/env_shape.h), the family's obs_dim, num_actions and observation
// ranges (pixel families' chunks are then stored one byte per observation
// component, see Options::obs_bytes_in_chunks). Each env's shape (obs_dim,
// num_actions) is pinned by its first history, persisted (column family
// env_shapes) and enforced on every later history of the env; deleting an env's
// last history releases the pin. DeleteHistory removes a history (an operator's
// way out of bad data) in one atomic batch; the sampler stops using it.
//
// Memory: the in-memory index holds per history its record (identity and
// summary), the first transition of each chunk and the end of each episode
// -- never transitions. Transitions are read through RocksDB's block cache
// (Options::block_cache_bytes, which also pays for memtables, index and
// filter blocks) and a decoded-chunk LRU (Options::chunk_cache_bytes), so the
// store can hold much more than RAM.
//
// Thread-safety: all methods are thread-safe. Appends to different histories
// run concurrently (RocksDB group-commits them); appends to one history are
// serialized, and so are the creation and deletion of histories (rare; this
// keeps the shape pin and the task split consistent). Readers never block
// appends for longer than an index lookup.
#ifndef AD_STORAGE_TRAJECTORY_STORE_H_
#define AD_STORAGE_TRAJECTORY_STORE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "storage/chunk_cache.h"
#include "storage/env_shape.h"
#include "storage/history.h"
#include "storage/transitions.h"

namespace rocksdb {
class Cache;
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace ad::storage {

class TrajectoryStore {
 public:
  struct Options {
    std::string path;  // RocksDB directory; created when missing
    // RocksDB block cache (uncompressed blocks, index and filter blocks,
    // and memtables via a write-buffer manager charged to it).
    size_t block_cache_bytes = size_t{256} << 20;
    // Memtable budget, charged to the block cache (must be smaller).
    size_t write_buffer_bytes = size_t{64} << 20;
    // Decoded chunks kept for the window sampler, on top of the block cache.
    size_t chunk_cache_bytes = size_t{64} << 20;
    // fsync the WAL on every append (survives power loss); see above.
    bool sync = false;
    // Largest chunk accepted by Append, in transitions.
    uint64_t max_chunk_transitions = uint64_t{1} << 20;
    // Chunks of families whose space says obs_bytes (pixels) store one byte
    // per observation component (chunk version 2, keyspace.h). false writes
    // int32 components (version 1) as stores did before pixel families:
    // for the benchmark's baseline and the tests that old stores still
    // read. Reading handles both either way.
    bool obs_bytes_in_chunks = true;

    // INVALID_ARGUMENT naming the field if a value is out of range.
    absl::Status Validate() const;
  };

  struct AppendRequest {
    std::string history_id;
    uint64_t seq = 0;  // chunk sequence number, 0, 1, 2, ... per history
    // Identity of a new history; required with seq 0, ignored after (its
    // summary fields are ignored). Borrowed.
    const HistoryRecord* meta = nullptr;
    TransitionsView chunk;  // may be empty only when `final`
    bool final = false;     // the history is complete after this chunk
  };

  struct AppendResult {
    uint64_t seq = 0;        // this chunk and every earlier one are durable
    uint64_t length = 0;     // transitions durable for the history
    bool duplicate = false;  // the chunk was already stored; nothing written
  };

  struct TaskSummary {
    std::string env;
    std::string task_id;
    std::string split;
    uint64_t histories = 0;
    uint64_t transitions = 0;
  };

  struct Stats {
    uint64_t histories = 0;
    uint64_t complete_histories = 0;
    uint64_t transitions = 0;
    uint64_t tasks = 0;
    uint64_t db_bytes = 0;  // SST files plus live memtables
  };

  // Borrowed output arrays for CopyTransitions, sized by the caller.
  struct TransitionPointers {
    int32_t* obs;
    int32_t* actions;
    float* rewards;
    uint8_t* dones;
  };

  // Opens (or creates) the store at options.path and rebuilds the in-memory
  // index by scanning the small column families (meta, chunk_index,
  // episodes, env_shapes). DATA_LOSS if they disagree. A store written
  // before shapes were pinned gets each env's pin from its histories (the
  // family's shape, or else the most common one); histories that disagree
  // with their env's pin are logged and never sampled (delete them).
  static absl::StatusOr<std::unique_ptr<TrajectoryStore>> Open(
      const Options& options);

  ~TrajectoryStore();
  TrajectoryStore(const TrajectoryStore&) = delete;
  TrajectoryStore& operator=(const TrajectoryStore&) = delete;

  // Stores one chunk atomically (see the header comment). Errors, with
  // nothing written: NOT_FOUND for seq > 0 of an unknown history;
  // INVALID_ARGUMENT for a missing or bad meta at seq 0 (num_actions 0
  // included), a shape differing from the env's pinned shape or its
  // family's, a seq beyond the next expected one, arrays of the wrong
  // length, obs_dim differing from the history's, an action outside
  // [0, num_actions), a NaN or infinite reward, an observation outside the
  // family's range, a done byte other than 0/1, an empty non-final chunk, a
  // too-large chunk, or a task whose split differs from an earlier history
  // of that task; ALREADY_EXISTS when seq 0 is retried with a different
  // identity; FAILED_PRECONDITION after the history was completed. Messages
  // echo at most a short prefix of any id.
  absl::StatusOr<AppendResult> Append(const AppendRequest& request)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Tasks, sorted by (env, task_id); empty env / split match all.
  std::vector<TaskSummary> ListTasks(absl::string_view env,
                                     absl::string_view split) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Records (with episode returns) of every history of `task_id`, from a
  // range scan of the task index, sorted by history id. Empty env searches
  // every env. NOT_FOUND if the task is unknown.
  absl::StatusOr<std::vector<HistoryRecord>> QueryTask(
      absl::string_view env, absl::string_view task_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // The record of one history, with its episode returns. NOT_FOUND if
  // unknown.
  absl::StatusOr<HistoryRecord> GetHistory(absl::string_view history_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Transitions [begin, end) of one history, read by a range scan that does
  // not fill the block cache (exports do not evict the sampler's working
  // set). NOT_FOUND if unknown; OUT_OF_RANGE unless begin <= end <= length.
  absl::StatusOr<Transitions> ReadRange(absl::string_view history_id,
                                        uint64_t begin, uint64_t end) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Removes a history (record, chunks, episodes, task-index entry) in one
  // atomic write and returns its record as it was. Samplers stop drawing
  // from it (a batch in flight is redrawn). A writer still appending to it
  // gets NOT_FOUND for its next chunk. NOT_FOUND if unknown.
  absl::StatusOr<HistoryRecord> DeleteHistory(absl::string_view history_id)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The shape pinned for `env`; NOT_FOUND if the env has no history.
  absl::StatusOr<EnvShape> GetEnvShape(absl::string_view env) const
      ABSL_LOCKS_EXCLUDED(mu_);

  Stats GetStats() const ABSL_LOCKS_EXCLUDED(mu_);

  // Where the store's memory goes, in bytes (for benchmarks and metrics).
  struct MemoryUsage {
    uint64_t block_cache = 0;  // block cache usage (memtables charged)
    uint64_t block_cache_pinned = 0;
    uint64_t memtables = 0;  // live memtables (inside block_cache)
    uint64_t chunk_cache = 0;
  };
  MemoryUsage GetMemoryUsage() const;

  // Writes a consistent RocksDB checkpoint (hard links where possible) into
  // `directory`, which must not exist; a store can be opened on it.
  absl::Status Checkpoint(const std::string& directory) const;

  // --- For WindowSampler. ---

  // Incremented by every append that wrote something and every deletion.
  uint64_t version() const ABSL_LOCKS_EXCLUDED(mu_);

  // What a waiting sampler watches: transitions appended since the store
  // opened (never decreases, deletions included), and a count of
  // structural changes (a history created, completed or deleted).
  struct Progress {
    uint64_t appended_transitions = 0;
    uint64_t structure = 0;
  };
  Progress progress() const ABSL_LOCKS_EXCLUDED(progress_mu_);
  // Blocks until appended_transitions >= min_appended, or structure differs
  // from seen_structure, or `deadline` passes; true unless the deadline
  // passed. Appends evaluate each waiter's condition once (a comparison),
  // so a blocked sampler costs an append nothing more.
  bool WaitForProgress(uint64_t min_appended, uint64_t seen_structure,
                       absl::Time deadline) const
      ABSL_LOCKS_EXCLUDED(progress_mu_);

  // A history's episode index as the sampler sees it.
  struct EpisodeIndex {
    absl::Span<const uint64_t> ends;  // ends[i]: one past episode i's end
    // The first completed episode with a positive return; -1 if none yet.
    int64_t first_rewarded = -1;
  };
  // Calls fn(index, record, episodes) for every live history (deleted ones
  // and ones off their env's pinned shape are skipped), under a shared
  // lock: fn must not call back into the store. `index` is the history's
  // dense in-process number for CopyTransitions.
  void VisitHistories(
      absl::FunctionRef<void(uint32_t index, const HistoryRecord& record,
                             const EpisodeIndex& episodes)>
          fn) const ABSL_LOCKS_EXCLUDED(mu_);
  // Copies transitions [begin, begin + count) of history `index` into
  // `dst` (count * obs_dim obs values, count of each other array), through
  // the decoded-chunk cache. OUT_OF_RANGE if the range is not stored;
  // NOT_FOUND if the history was deleted (also mid-copy).
  absl::Status CopyTransitions(uint32_t index, uint64_t begin, uint64_t count,
                               const TransitionPointers& dst) const
      ABSL_LOCKS_EXCLUDED(mu_);

  const ChunkCache& chunk_cache() const { return chunk_cache_; }
  const Options& options() const { return options_; }

 private:
  struct HistoryState {
    HistoryRecord record;                // episode_returns stays empty
    std::vector<uint64_t> chunk_starts;  // first transition of each chunk
    std::vector<uint64_t> episode_ends;  // one past each episode's end
    // First completed episode with a positive return, -1 if none: derived
    // from the episode index (at Open and on append), not stored twice.
    int64_t first_rewarded = -1;
    bool deleted = false;    // by DeleteHistory; the slot is never reused
    bool off_shape = false;  // disagrees with its env's pin (older stores)
  };
  struct TaskState {
    std::string split;
    std::vector<uint32_t> histories;  // indices into histories_
  };
  using TaskKey = std::pair<std::string, std::string>;  // env, task_id

  explicit TrajectoryStore(const Options& options);
  absl::Status OpenDb();
  absl::Status LoadIndex() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status ReadEpisodeReturns(HistoryRecord* record) const;
  absl::StatusOr<ChunkCache::Value> GetChunk(uint32_t index,
                                             const std::string& history_id,
                                             uint64_t first) const;
  // Adds a new history to the index; returns its dense index.
  uint32_t AddHistoryLocked(HistoryState state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Pins shapes for envs of a store written before pins existed.
  absl::Status PinLegacyShapesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Mutex& AppendMutex(absl::string_view history_id);
  void AddProgress(uint64_t transitions, bool structural)
      ABSL_LOCKS_EXCLUDED(progress_mu_);
  const Options options_;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::unique_ptr<rocksdb::DB> db_;
  // Owned; destroyed before db_.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* chunks_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* chunk_index_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* episodes_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* tasks_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* env_shapes_cf_ = nullptr;

  mutable ChunkCache chunk_cache_;

  // Serializes appends per history: a history id hashes to one stripe.
  static constexpr int kAppendStripes = 64;
  std::array<absl::Mutex, kAppendStripes> append_mu_;
  // Serializes creating and deleting histories (taken after the history's
  // append stripe, before mu_), so the shape pin and the task split are
  // checked and written atomically.
  absl::Mutex create_mu_;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<HistoryState>> histories_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TaskKey, TaskState> tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t total_transitions_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t complete_histories_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, EnvShape> env_shapes_ ABSL_GUARDED_BY(mu_);
  // Live histories per env (a pin is released with the env's last one).
  absl::flat_hash_map<std::string, uint64_t> env_histories_
      ABSL_GUARDED_BY(mu_);

  // Waiting samplers block on this small mutex, not on mu_, so that their
  // conditions are evaluated once per append rather than on every unlock.
  mutable absl::Mutex progress_mu_;
  uint64_t appended_transitions_ ABSL_GUARDED_BY(progress_mu_) = 0;
  uint64_t structure_ ABSL_GUARDED_BY(progress_mu_) = 0;
};

}  // namespace ad::storage

#endif  // AD_STORAGE_TRAJECTORY_STORE_H_
