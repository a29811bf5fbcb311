#include "evaluator/context_buffer.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::evaluator {
namespace {

using ::testing::HasSubstr;

// Pushes transition number `t` into every row: obs (10 * row + t, -t),
// action t, reward t / 10, done every third step.
void PushStep(ContextBuffer& buffer, int t) {
  const int rows = buffer.rows();
  std::vector<int32_t> obs, actions;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
  for (int r = 0; r < rows; ++r) {
    obs.push_back(10 * r + t);
    obs.push_back(-t);
    actions.push_back(t);
    rewards.push_back(t / 10.0f);
    dones.push_back(t % 3 == 2 ? 1 : 0);
  }
  ASSERT_TRUE(buffer.Push(obs, actions, rewards, dones).ok());
}

TEST(ContextBufferTest, KeepsTheLastCapacityTransitionsAcrossEpisodes) {
  ContextBuffer buffer(/*rows=*/3, /*capacity=*/4, /*obs_dim=*/2);
  EXPECT_EQ(buffer.length(), 0);
  for (int t = 0; t < 3; ++t) PushStep(buffer, t);
  EXPECT_EQ(buffer.length(), 3);
  EXPECT_EQ(buffer.All().action(1, 0), 0);
  // Seven pushes into four slots: transitions 3..6 remain, oldest first,
  // including the episode boundaries (done at t = 5) inside them.
  for (int t = 3; t < 7; ++t) PushStep(buffer, t);
  ContextBatch all = buffer.All();
  ASSERT_EQ(all.length(), 4);
  for (int r = 0; r < 3; ++r) {
    for (int k = 0; k < 4; ++k) {
      const int t = 3 + k;
      EXPECT_EQ(all.action(r, k), t);
      EXPECT_EQ(all.obs(r, k)[0], 10 * r + t);
      EXPECT_EQ(all.obs(r, k)[1], -t);
      EXPECT_FLOAT_EQ(all.reward(r, k), t / 10.0f);
      EXPECT_EQ(all.done(r, k), t % 3 == 2);
    }
  }
}

TEST(ContextBufferTest, ViewsAddressRowsOfTheWholeBatch) {
  ContextBuffer buffer(/*rows=*/4, /*capacity=*/2, /*obs_dim=*/2);
  PushStep(buffer, 0);
  ASSERT_TRUE(buffer.SetCurrentObs({0, 1, 2, 3, 4, 5, 6, 7}).ok());
  ContextBatch view = buffer.View(2, 2);
  EXPECT_EQ(view.rows(), 2);
  EXPECT_EQ(view.global_row(1), 3);
  EXPECT_EQ(view.obs(0, 0)[0], 20);
  EXPECT_EQ(view.current_obs(1)[0], 6);
  EXPECT_EQ(view.current_obs(1)[1], 7);
}

TEST(ContextBufferTest, ClearForgetsTransitions) {
  ContextBuffer buffer(/*rows=*/1, /*capacity=*/3, /*obs_dim=*/2);
  PushStep(buffer, 0);
  PushStep(buffer, 1);
  buffer.Clear();
  EXPECT_EQ(buffer.length(), 0);
  PushStep(buffer, 5);
  EXPECT_EQ(buffer.All().action(0, 0), 5);
}

TEST(ContextBufferTest, RejectsWrongSizesNamingTheField) {
  ContextBuffer buffer(/*rows=*/2, /*capacity=*/2, /*obs_dim=*/2);
  absl::Status s = buffer.Push({1, 2, 3}, {0, 0}, {0, 0}, {0, 0});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("obs"));
  s = buffer.Push({1, 2, 3, 4}, {0, 0}, {0}, {0, 0});
  EXPECT_THAT(s.message(), HasSubstr("rewards"));
  EXPECT_EQ(buffer.length(), 0);
}

}  // namespace
}  // namespace ad::evaluator
