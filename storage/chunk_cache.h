// A bounded LRU cache of decoded chunks, so that the window sampler copies
// transitions out of ready arrays instead of decoding a RocksDB value per
// window. Sits above RocksDB's block cache (which holds encoded blocks).
//
// Keyed by (history index, first transition of the chunk); the history index
// is the store's dense in-process number of a history. Values are immutable
// and shared: a reader keeps its chunk alive after eviction.
//
// Thread-safe; sharded by key hash, one absl::Mutex per shard, held only for
// the map/list update. Nothing blocks. Capacity 0 disables caching.
#ifndef AD_STORAGE_CHUNK_CACHE_H_
#define AD_STORAGE_CHUNK_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "storage/transitions.h"

namespace ad::storage {

class ChunkCache {
 public:
  struct Key {
    uint32_t history = 0;  // the store's dense history index
    uint64_t first = 0;    // first transition of the chunk

    bool operator==(const Key& other) const {
      return history == other.history && first == other.first;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.history, k.first);
    }
  };
  using Value = std::shared_ptr<const Transitions>;

  // `capacity_bytes` bounds the sum of Transitions::ByteSize() over cached
  // chunks (split evenly over `num_shards`).
  explicit ChunkCache(size_t capacity_bytes, int num_shards = 16);
  ChunkCache(const ChunkCache&) = delete;
  ChunkCache& operator=(const ChunkCache&) = delete;

  // The cached chunk, marked most recently used, or nullptr.
  Value Lookup(const Key& key);
  // Caches `value` (replacing an entry with the same key) and evicts least
  // recently used entries of its shard until the shard fits. A value larger
  // than a shard's capacity is not cached.
  void Insert(const Key& key, Value value);

  size_t usage_bytes() const;
  size_t capacity_bytes() const { return capacity_; }

 private:
  struct Entry {
    Key key;
    Value value;
    size_t bytes;
  };
  struct Shard {
    mutable absl::Mutex mu;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);  // front: most recently used
    absl::flat_hash_map<Key, std::list<Entry>::iterator> map
        ABSL_GUARDED_BY(mu);
    size_t usage ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardFor(const Key& key);

  const size_t capacity_;
  const size_t shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace ad::storage

#endif  // AD_STORAGE_CHUNK_CACHE_H_
