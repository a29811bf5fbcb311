#include "storage/chunk_cache.h"

#include <glog/logging.h>

#include "absl/hash/hash.h"

namespace ad::storage {

ChunkCache::ChunkCache(size_t capacity_bytes, int num_shards)
    : capacity_(capacity_bytes),
      shard_capacity_(capacity_bytes / static_cast<size_t>(num_shards)) {
  CHECK_GT(num_shards, 0);
  for (int i = 0; i < num_shards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
}

ChunkCache::Shard& ChunkCache::ShardFor(const Key& key) {
  return *shards_[absl::Hash<Key>()(key) % shards_.size()];
}

ChunkCache::Value ChunkCache::Lookup(const Key& key) {
  if (capacity_ == 0) return nullptr;
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return nullptr;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->value;
}

void ChunkCache::Insert(const Key& key, Value value) {
  const size_t bytes = value->ByteSize() + sizeof(Entry);
  if (bytes > shard_capacity_) return;
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  if (auto it = shard.map.find(key); it != shard.map.end()) {
    shard.usage -= it->second->bytes;
    shard.lru.erase(it->second);
    shard.map.erase(it);
  }
  shard.lru.push_front(Entry{key, std::move(value), bytes});
  shard.map[key] = shard.lru.begin();
  shard.usage += bytes;
  while (shard.usage > shard_capacity_) {
    Entry& last = shard.lru.back();
    shard.usage -= last.bytes;
    shard.map.erase(last.key);
    shard.lru.pop_back();
  }
}

size_t ChunkCache::usage_bytes() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    total += shard->usage;
  }
  return total;
}

}  // namespace ad::storage
