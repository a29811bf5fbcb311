#include "learner/in_process_source.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "learner/synthetic_darkroom.h"

namespace ad::learner {
namespace {

std::vector<History> TrainAndTestHistories() {
  std::vector<DarkRoomGoal> train, test;
  DarkRoomGoalSplit(/*test_every=*/4, /*test_offset=*/0, train, test);
  SyntheticDarkRoomOptions o;
  o.episodes = 5;
  o.goals = train;
  o.split = "train";
  std::vector<History> all = SyntheticDarkRoomHistories(o);
  o.goals = test;
  o.split = "test";
  for (History& h : SyntheticDarkRoomHistories(o)) all.push_back(h);
  return all;
}

TEST(InProcessSourceTest, NeverReturnsAHeldOutTask) {
  WindowRequest request{/*window_len=*/40, /*batch_size=*/64, /*seed=*/3};
  auto source = InProcessWindowSource::Create(TrainAndTestHistories(), request);
  ASSERT_TRUE(source.ok()) << source.status();
  for (int i = 0; i < 50; ++i) {
    auto w = (*source)->Next(absl::InfiniteFuture());
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w->history_ids.size(), 64u);
    for (const std::string& id : w->history_ids) {
      EXPECT_TRUE(absl::StrContains(id, "/train/")) << id;
    }
  }
}

TEST(InProcessSourceTest, WindowsAreConsecutiveTransitions) {
  WindowRequest request{/*window_len=*/30, /*batch_size=*/4, /*seed=*/1};
  std::vector<History> histories = TrainAndTestHistories();
  auto source = InProcessWindowSource::Create(histories, request);
  ASSERT_TRUE(source.ok());
  auto w = (*source)->Next(absl::InfiniteFuture());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->ValidateShape().ok());
  for (int b = 0; b < 4; ++b) {
    const History* h = nullptr;
    for (const History& candidate : histories) {
      if (candidate.history_id == w->history_ids[b]) h = &candidate;
    }
    ASSERT_NE(h, nullptr);
    for (int t = 0; t < 30; ++t) {
      EXPECT_EQ(w->actions[b * 30 + t], h->actions[w->starts[b] + t]);
      EXPECT_EQ(w->obs[(b * 30 + t) * 2 + 1],
                h->obs[(w->starts[b] + t) * 2 + 1]);
    }
  }
}

TEST(InProcessSourceTest, ResumingAtBatchNContinuesTheSequence) {
  WindowRequest request{/*window_len=*/20, /*batch_size=*/8, /*seed=*/9};
  auto straight =
      InProcessWindowSource::Create(TrainAndTestHistories(), request);
  ASSERT_TRUE(straight.ok());
  std::vector<Windows> expected;
  for (int i = 0; i < 6; ++i) {
    expected.push_back(*(*straight)->Next(absl::InfiniteFuture()));
  }
  request.first_batch = 3;
  auto resumed =
      InProcessWindowSource::Create(TrainAndTestHistories(), request);
  ASSERT_TRUE(resumed.ok());
  for (int i = 3; i < 6; ++i) {
    Windows w = *(*resumed)->Next(absl::InfiniteFuture());
    EXPECT_EQ(w.actions, expected[i].actions);
    EXPECT_EQ(w.starts, expected[i].starts);
  }
}

TEST(InProcessSourceTest, NoLongEnoughTrainHistoryIsNotFound) {
  WindowRequest request{/*window_len=*/10000, /*batch_size=*/1, /*seed=*/1};
  auto source = InProcessWindowSource::Create(TrainAndTestHistories(), request);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ad::learner
