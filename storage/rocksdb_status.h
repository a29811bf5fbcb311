// The one adapter from rocksdb::Status to absl::Status. Only storage/ sees
// RocksDB; everything above it gets absl::Status values.
#ifndef AD_STORAGE_ROCKSDB_STATUS_H_
#define AD_STORAGE_ROCKSDB_STATUS_H_

#include <rocksdb/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ad::storage {

// Maps the RocksDB code to the closest canonical code (NotFound -> NOT_FOUND,
// Corruption -> DATA_LOSS, InvalidArgument -> INVALID_ARGUMENT, Busy /
// TimedOut / TryAgain -> UNAVAILABLE, NoSpace -> RESOURCE_EXHAUSTED, other
// I/O errors -> INTERNAL) and prefixes the message with `context`
// ("writing chunk 3 of h1: ...").
absl::Status FromRocksDbStatus(const rocksdb::Status& status,
                               absl::string_view context);

}  // namespace ad::storage

#endif  // AD_STORAGE_ROCKSDB_STATUS_H_
