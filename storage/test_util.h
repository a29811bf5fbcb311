// Helpers shared by the storage tests: a temporary RocksDB directory that is
// removed afterwards, and synthetic histories whose transitions encode where
// they came from (obs = {tag, t}), so a test can check any window.
#ifndef AD_STORAGE_TEST_UTIL_H_
#define AD_STORAGE_TEST_UTIL_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "envs/watermaze.h"
#include "storage/history.h"
#include "storage/transitions.h"

namespace ad::storage::testing {

// A fresh directory under $TEST_TMPDIR (or /tmp), removed on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base ? base : "/tmp", "/ad_store_XXXXXX");
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

// The env of synthetic histories: not a known task family (envs/registry.h),
// so the store checks only the pinned shape (obs_dim 2, 5 actions), not the
// observation range that obs = {tag, t} would leave.
inline constexpr char kSyntheticEnv[] = "synthetic";

inline HistoryRecord MakeMeta(const std::string& id,
                              const std::string& task = "darkroom/goal=1,1",
                              const std::string& split = kTrainSplit,
                              const std::string& source = "a3c") {
  HistoryRecord meta;
  meta.history_id = id;
  meta.env = kSyntheticEnv;
  meta.task_id = task;
  meta.source = source;
  meta.split = split;
  meta.obs_dim = 2;
  meta.num_actions = 5;
  return meta;
}

// Transitions [first, first + n) of a history tagged `tag`: obs = {tag, t},
// action t % 5, episodes of `episode_len` steps (done on the last), reward
// 1 on the last step of an episode and 0.5 on its first.
inline Transitions MakeTransitions(int tag, uint64_t first, uint64_t n,
                                   uint64_t episode_len = 10) {
  Transitions t;
  t.Resize(2, n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t step = first + i;
    t.obs[2 * i] = tag;
    t.obs[2 * i + 1] = static_cast<int32_t>(step);
    t.actions[i] = static_cast<int32_t>(step % 5);
    const bool last = step % episode_len == episode_len - 1;
    t.rewards[i] = last ? 1.0f : (step % episode_len == 0 ? 0.5f : 0.0f);
    t.dones[i] = last ? 1 : 0;
  }
  return t;
}

// A history of the pixel family "watermaze" (obs_bytes: its chunks are
// stored one byte per component).
inline HistoryRecord MakePixelMeta(const std::string& id) {
  HistoryRecord meta = MakeMeta(id, "watermaze/platform=20,15");
  meta.env = "watermaze";
  meta.obs_dim = envs::kWatermazeFrameBytes;
  meta.num_actions = envs::kWatermazeNumActions;
  return meta;
}

// Transitions [first, first + n) of a pixel history tagged `tag`: frames of
// kWatermazeFrameBytes values in [0, 256) that differ per tag, step and
// pixel, action t % 8, episodes of 50 steps (reward 1 on the last).
inline Transitions MakePixelTransitions(int tag, uint64_t first, uint64_t n) {
  constexpr uint32_t kDim = envs::kWatermazeFrameBytes;
  Transitions t;
  t.Resize(kDim, n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t step = first + i;
    for (uint32_t c = 0; c < kDim; ++c) {
      t.obs[i * kDim + c] = static_cast<int32_t>(
          (tag * 31 + step * 7 + c / 3 * (c % 3 + 1)) % 256);
    }
    t.actions[i] = static_cast<int32_t>(step % 8);
    const bool last = step % 50 == 49;
    t.rewards[i] = last ? 1.0f : 0.0f;
    t.dones[i] = last ? 1 : 0;
  }
  return t;
}

}  // namespace ad::storage::testing

#endif  // AD_STORAGE_TEST_UTIL_H_
