#include "evaluator/policy.h"

#include "common/rng.h"

namespace ad::evaluator {

uint64_t RowStreamSeed(const RowSpec& row, uint64_t salt) {
  // absl::Hash is not stable across program runs, so hash the id by hand
  // (FNV-1a) to keep rollouts reproducible between processes.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : row.task_id) {
    h = (h ^ c) * 0x100000001b3ULL;
  }
  return Mix64(h ^ Mix64(row.seed + Mix64(salt)));
}

}  // namespace ad::evaluator
