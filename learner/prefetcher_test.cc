#include "learner/prefetcher.h"

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::learner {
namespace {

using ::testing::HasSubstr;

Windows ValidWindows(int32_t action) {
  Windows w;
  w.batch_size = 2;
  w.window_len = 3;
  w.obs_dim = 2;
  w.obs.assign(12, 4);
  w.actions.assign(6, action);
  w.rewards.assign(6, 0.f);
  w.dones.assign(6, 0);
  return w;
}

// Hands out `good` valid batches, then `then` forever.
class ScriptedSource : public WindowSource {
 public:
  ScriptedSource(int good, absl::StatusOr<Windows> then)
      : good_(good), then_(std::move(then)) {}
  absl::StatusOr<Windows> Next(absl::Time deadline) override {
    if (calls_++ < good_) return ValidWindows(calls_ % 5);
    return then_;
  }
  std::atomic<int> calls_{0};

 private:
  int good_;
  absl::StatusOr<Windows> then_;
};

// Blocks until cancelled, like a store with no data.
class BlockingSource : public WindowSource {
 public:
  absl::StatusOr<Windows> Next(absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    auto cancelled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return cancelled_;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&cancelled), deadline)) {
      return absl::DeadlineExceededError("no data");
    }
    return absl::CancelledError("cancelled");
  }
  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }

 private:
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

Prefetcher::Options TestOptions() {
  Prefetcher::Options o;
  o.capacity = 2;
  o.model.context_len = 8;
  o.poll = absl::Milliseconds(20);
  return o;
}

TEST(PrefetcherTest, DeliversBatchesThenTheSourceError) {
  Prefetcher prefetcher(
      std::make_unique<ScriptedSource>(3, absl::DataLossError("store gone")),
      TestOptions());
  for (int i = 0; i < 3; ++i) {
    auto batch = prefetcher.Next(absl::Now() + absl::Seconds(10));
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ(batch->tokens, 6);
    EXPECT_EQ(batch->input.obs.sizes(), (std::vector<int64_t>{2, 3, 2}));
  }
  auto end = prefetcher.Next(absl::Now() + absl::Seconds(10));
  EXPECT_EQ(end.status().code(), absl::StatusCode::kDataLoss);
}

TEST(PrefetcherTest, KeepsAtMostCapacityReady) {
  auto* source = new ScriptedSource(1000, absl::DataLossError("unused"));
  Prefetcher prefetcher(std::unique_ptr<WindowSource>(source), TestOptions());
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(prefetcher.stats().batches_ready, 2);
  // One more may be in flight, converted, waiting for room.
  EXPECT_LE(source->calls_.load(), 3);
}

TEST(PrefetcherTest, BadWindowIsInvalidArgumentNamingTheField) {
  Windows bad = ValidWindows(1);
  bad.obs[5] = 9;  // obs_high is 9
  Prefetcher prefetcher(std::make_unique<ScriptedSource>(0, bad),
                        TestOptions());
  auto batch = prefetcher.Next(absl::Now() + absl::Seconds(10));
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(batch.status().message(), HasSubstr("windows.obs[1]"));
}

TEST(PrefetcherTest, NextHonoursItsDeadlineAndDestructorUnblocks) {
  auto prefetcher = std::make_unique<Prefetcher>(
      std::make_unique<BlockingSource>(), TestOptions());
  auto batch = prefetcher->Next(absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kDeadlineExceeded);
  prefetcher.reset();  // must not hang
}

}  // namespace
}  // namespace ad::learner
