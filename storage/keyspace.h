// The store's RocksDB keyspace: column families, key layouts and value
// encodings. Everything here is pure byte manipulation (no RocksDB calls), so
// it is unit-tested on its own.
//
// Column families and keys (`\0` is a NUL byte; BE64 is a big-endian
// fixed-width uint64, so that byte order equals numeric order and a range
// scan over one history's keys visits them in transition order):
//
//   meta         history_id                      -> HistoryRecord (summary)
//   chunks       history_id \0 BE64(first)       -> chunk: the transitions
//                                                   [first, first + count)
//   chunk_index  history_id \0 BE64(first)       -> count, seq (tiny; scanned
//                                                   at open to locate chunks
//                                                   without reading them)
//   episodes     history_id \0 BE64(episode)     -> end offset, return
//   tasks        env \0 task_id \0 history_id    -> "" (the task index)
//   env_shapes   env                             -> obs_dim, num_actions:
//                                                   the shape pinned by the
//                                                   env's first history
//
// History ids, env and task ids never contain NUL, so `\0` terminates the
// variable-width prefix and keys of one history (or task) are contiguous.
// Values are little-endian; chunk arrays are raw fixed-width so decoding is
// a memcpy (or, for byte observations, a widening copy).
//
// Chunk versions (the first byte of a chunk value; both are read forever):
//   1  observations as int32, 4 bytes per component (every family; the only
//      version stores wrote before pixel families existed)
//   2  observations as one byte per component, for families whose space
//      says obs_bytes (pixels); 4x smaller before compression
// The other arrays and the 24-byte header are the same in both.
#ifndef AD_STORAGE_KEYSPACE_H_
#define AD_STORAGE_KEYSPACE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/history.h"
#include "storage/transitions.h"

namespace ad::storage::keyspace {

inline constexpr char kMetaFamily[] = "meta";
inline constexpr char kChunksFamily[] = "chunks";
inline constexpr char kChunkIndexFamily[] = "chunk_index";
inline constexpr char kEpisodesFamily[] = "episodes";
inline constexpr char kTasksFamily[] = "tasks";
inline constexpr char kEnvShapesFamily[] = "env_shapes";

// Appends `value` as 8 big-endian bytes.
void PutBigEndian64(std::string* out, uint64_t value);
// Reads 8 big-endian bytes; dies if fewer are given (programmer error).
uint64_t GetBigEndian64(absl::string_view bytes);

// history_id \0 BE64(index): keys of chunks, chunk_index and episodes.
std::string HistoryKey(absl::string_view history_id, uint64_t index);
// history_id \0: the prefix shared by every HistoryKey of one history.
std::string HistoryPrefix(absl::string_view history_id);
// Splits a HistoryKey; DATA_LOSS if malformed.
absl::Status ParseHistoryKey(absl::string_view key,
                             absl::string_view* history_id, uint64_t* index);

// env \0 task_id \0 history_id, and its prefix env \0 task_id \0.
std::string TaskKey(absl::string_view env, absl::string_view task_id,
                    absl::string_view history_id);
std::string TaskPrefix(absl::string_view env, absl::string_view task_id);
absl::Status ParseTaskKey(absl::string_view key, absl::string_view* env,
                          absl::string_view* task_id,
                          absl::string_view* history_id);

// One past the last key starting with HistoryPrefix(history_id): the end
// of a range delete over one history.
std::string HistoryPrefixEnd(absl::string_view history_id);

// HistoryRecord without episode_returns (they live in `episodes`).
std::string EncodeRecord(const HistoryRecord& record);
absl::Status DecodeRecord(absl::string_view value, HistoryRecord* record);

// How a chunk stores its observations; the value is the chunk's version.
enum class ChunkObs : uint8_t {
  kInt32 = 1,  // version 1
  kBytes = 2,  // version 2; every value must lie in [0, 256) (dies if not:
               // the store checked them against an obs_high <= 256)
};

// A chunk: header (version, obs_dim, seq, count) then the raw arrays.
std::string EncodeChunk(uint64_t seq, const TransitionsView& transitions,
                        ChunkObs obs = ChunkObs::kInt32);
// Decodes either version into int32 observations.
absl::Status DecodeChunk(absl::string_view value, uint64_t* seq,
                         Transitions* transitions);

// chunk_index values.
std::string EncodeChunkIndex(uint64_t count, uint64_t seq);
absl::Status DecodeChunkIndex(absl::string_view value, uint64_t* count,
                              uint64_t* seq);

// episodes values: the offset one past the episode's last transition, and
// the episode's return.
std::string EncodeEpisode(uint64_t end, float episode_return);
absl::Status DecodeEpisode(absl::string_view value, uint64_t* end,
                           float* episode_return);

// env_shapes values.
std::string EncodeEnvShape(uint32_t obs_dim, uint32_t num_actions);
absl::Status DecodeEnvShape(absl::string_view value, uint32_t* obs_dim,
                            uint32_t* num_actions);

}  // namespace ad::storage::keyspace

#endif  // AD_STORAGE_KEYSPACE_H_
