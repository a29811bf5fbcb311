#include "learner/mixed_window_source.h"

#include <utility>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "learner/in_process_source.h"

namespace ad::learner {
namespace {

// Histories whose every observation component is `value`, so a batch says
// which part it came from.
std::vector<History> Marked(int32_t value, int count) {
  std::vector<History> out;
  for (int h = 0; h < count; ++h) {
    History history;
    history.history_id =
        "m" + std::to_string(value) + "/train/" + std::to_string(h);
    history.task_id = "t" + std::to_string(h);
    history.obs_dim = 2;
    const int len = 50 + 7 * h;
    history.obs.assign(2 * len, value);
    for (int t = 0; t < len; ++t) {
      history.actions.push_back((t * (h + 1)) % 5);
      history.rewards.push_back(t % 3 == 0 ? 1.f : 0.f);
      history.dones.push_back(t % 10 == 9 ? 1 : 0);
    }
    out.push_back(std::move(history));
  }
  return out;
}

WindowRequest Request(uint64_t seed, int64_t first_batch) {
  WindowRequest r;
  r.window_len = 20;
  r.batch_size = 3;
  r.seed = seed;
  r.first_batch = first_batch;
  return r;
}

// The mixed source of `parts` marked sources, resumed at `first_batch` the
// way services/learner/main.cc builds it (part i: seed 10 + i).
std::unique_ptr<MixedWindowSource> Mixed(int parts, int64_t first_batch) {
  std::vector<std::unique_ptr<WindowSource>> sources;
  for (int i = 0; i < parts; ++i) {
    auto s = InProcessWindowSource::Create(
        Marked(i + 1, 4), Request(10 + i, MixedWindowSource::PartFirstBatch(
                                              i, parts, first_batch)));
    EXPECT_TRUE(s.ok()) << s.status();
    sources.push_back(*std::move(s));
  }
  auto mixed = MixedWindowSource::Create(std::move(sources), first_batch);
  EXPECT_TRUE(mixed.ok()) << mixed.status();
  return *std::move(mixed);
}

TEST(MixedWindowSourceTest, BatchKComesFromPartKModN) {
  auto mixed = Mixed(/*parts=*/3, /*first_batch=*/0);
  for (int k = 0; k < 9; ++k) {
    auto w = mixed->Next(absl::InfiniteFuture());
    ASSERT_TRUE(w.ok()) << w.status();
    for (int32_t o : w->obs) ASSERT_EQ(o, k % 3 + 1) << "batch " << k;
  }
}

// Oracle: an uninterrupted run. A run resumed at batch N must hand out
// exactly the batches the uninterrupted one handed out from N on.
TEST(MixedWindowSourceTest, ResumingAtBatchNContinuesTheSequence) {
  auto full = Mixed(/*parts=*/3, /*first_batch=*/0);
  std::vector<Windows> all;
  for (int k = 0; k < 14; ++k) {
    auto w = full->Next(absl::InfiniteFuture());
    ASSERT_TRUE(w.ok());
    all.push_back(*std::move(w));
  }
  for (int64_t n : {1, 2, 3, 5, 7}) {
    auto resumed = Mixed(/*parts=*/3, n);
    for (int64_t k = n; k < 14; ++k) {
      auto w = resumed->Next(absl::InfiniteFuture());
      ASSERT_TRUE(w.ok());
      EXPECT_EQ(w->history_ids, all[k].history_ids) << "n " << n << " k " << k;
      EXPECT_EQ(w->starts, all[k].starts) << "n " << n << " k " << k;
    }
  }
}

TEST(MixedWindowSourceTest, PartFirstBatchCountsEarlierBatchesOfThePart) {
  for (int n = 1; n <= 4; ++n) {
    for (int64_t first = 0; first < 13; ++first) {
      for (int part = 0; part < n; ++part) {
        int64_t count = 0;
        for (int64_t k = 0; k < first; ++k) count += (k % n == part);
        EXPECT_EQ(MixedWindowSource::PartFirstBatch(part, n, first), count)
            << "part " << part << " of " << n << " first " << first;
      }
    }
  }
}

// A part that times out once, then answers; counts Cancel calls.
class FlakyPart : public WindowSource {
 public:
  absl::StatusOr<Windows> Next(absl::Time) override {
    if (calls_++ == 0) return absl::DeadlineExceededError("not yet");
    Windows w;
    w.batch_size = 1;
    w.window_len = 1;
    w.obs_dim = 1;
    w.obs = {7};
    w.actions = {0};
    w.rewards = {0};
    w.dones = {0};
    return w;
  }
  void Cancel() override { ++cancels_; }
  int calls_ = 0;
  int cancels_ = 0;
};

TEST(MixedWindowSourceTest, TimeoutKeepsTheTurnAndCancelReachesEveryPart) {
  auto* a = new FlakyPart;
  auto* b = new FlakyPart;
  std::vector<std::unique_ptr<WindowSource>> parts;
  parts.emplace_back(a);
  parts.emplace_back(b);
  auto mixed = MixedWindowSource::Create(std::move(parts), 0);
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ((*mixed)->Next(absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ((*mixed)->next_batch(), 0);
  EXPECT_TRUE((*mixed)->Next(absl::InfiniteFuture()).ok());
  EXPECT_EQ(a->calls_, 2);
  EXPECT_EQ(b->calls_, 0);
  (*mixed)->Cancel();
  EXPECT_EQ(a->cancels_, 1);
  EXPECT_EQ(b->cancels_, 1);
}

TEST(MixedWindowSourceTest, RejectsNoPartsANullPartAndANegativeStart) {
  EXPECT_EQ(MixedWindowSource::Create({}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<std::unique_ptr<WindowSource>> with_null;
  with_null.emplace_back(nullptr);
  EXPECT_EQ(MixedWindowSource::Create(std::move(with_null), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<std::unique_ptr<WindowSource>> one;
  one.push_back(std::make_unique<FlakyPart>());
  EXPECT_EQ(MixedWindowSource::Create(std::move(one), -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ad::learner
