// What the store knows about one learning history (one actor stream of one
// source algorithm on one task): the identity the writer sent with chunk 0 and
// the summary the store maintains as chunks arrive. Mirrors
// ad.v1.HistoryMeta without depending on protobuf.
#ifndef AD_STORAGE_HISTORY_H_
#define AD_STORAGE_HISTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ad::storage {

inline constexpr char kTrainSplit[] = "train";
inline constexpr char kTestSplit[] = "test";
inline constexpr size_t kMaxHistoryIdLength = 256;
inline constexpr size_t kMaxNameLength = 256;  // env, task_id, source

struct HistoryRecord {
  // Identity, chosen by the writer.
  std::string history_id;  // [A-Za-z0-9._:/=,-]+, at most 256 characters
  std::string env;         // environment family, e.g. "darkroom"
  std::string task_id;     // e.g. "darkroom/goal=3,7"
  std::string source;      // source algorithm, e.g. "a3c"
  uint64_t seed = 0;
  uint32_t stream = 0;       // actor stream index within the source run
  std::string split;         // "train" or "test"
  uint32_t obs_dim = 0;      // int32 values per observation, >= 1
  uint32_t num_actions = 0;  // actions lie in [0, num_actions), >= 1

  // Summary, maintained by the store.
  uint64_t length = 0;    // transitions stored
  uint64_t episodes = 0;  // completed episodes (done bytes seen)
  bool complete = false;  // the writer sent its final chunk
  uint64_t next_seq = 0;  // the chunk sequence number expected next
  float open_return = 0;  // reward so far of the episode in progress
  // Per completed episode, in order. Filled by queries that ask for it
  // (TrajectoryStore::GetHistory); empty in the sampler's index.
  std::vector<float> episode_returns;
};

// OK if `history_id` is non-empty, at most kMaxHistoryIdLength characters,
// all from [A-Za-z0-9._:/=,-]; INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateHistoryId(const std::string& history_id);

// Checks the identity fields of a history about to be created: a valid id,
// non-empty env / task_id / source without NUL bytes, split "train" or
// "test", obs_dim >= 1, num_actions >= 1. INVALID_ARGUMENT naming the field
// otherwise.
absl::Status ValidateNewHistory(const HistoryRecord& record);

// True when a and b have the same identity (id, env, task, source, seed,
// stream, split, obs_dim, num_actions).
bool SameIdentity(const HistoryRecord& a, const HistoryRecord& b);

}  // namespace ad::storage

#endif  // AD_STORAGE_HISTORY_H_
