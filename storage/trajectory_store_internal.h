// Helpers shared by the files that implement TrajectoryStore
// (trajectory_store.h): trajectory_store.cc (options, Open and the recovery
// scan that rebuilds the in-memory index), trajectory_store_write.cc (Append
// and DeleteHistory) and trajectory_store_read.cc (queries, reads, stats and
// the sampler's accessors).
//
// Internal to storage/trajectory_store*.cc; nothing else includes this
// header.
#ifndef AD_STORAGE_TRAJECTORY_STORE_INTERNAL_H_
#define AD_STORAGE_TRAJECTORY_STORE_INTERNAL_H_

#include <rocksdb/slice.h>

#include "absl/strings/string_view.h"

namespace ad::storage::store_internal {

inline rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

inline absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace ad::storage::store_internal

#endif  // AD_STORAGE_TRAJECTORY_STORE_INTERNAL_H_
