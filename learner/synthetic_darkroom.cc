#include "learner/synthetic_darkroom.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"

namespace ad::learner {

std::pair<int, int> DarkRoomMove(int x, int y, int action) {
  switch (action) {
    case 1:
      x = std::min(x + 1, kDarkRoomSize - 1);
      break;
    case 2:
      x = std::max(x - 1, 0);
      break;
    case 3:
      y = std::min(y + 1, kDarkRoomSize - 1);
      break;
    case 4:
      y = std::max(y - 1, 0);
      break;
    default:
      break;
  }
  return {x, y};
}

int DarkRoomOptimalReturn(const DarkRoomGoal& goal) {
  const int centre = kDarkRoomSize / 2;
  int distance = std::abs(goal.x - centre) + std::abs(goal.y - centre);
  return std::min(kDarkRoomEpisodeLen + 1 - distance, kDarkRoomEpisodeLen);
}

void DarkRoomGoalSplit(int test_every, int test_offset,
                       std::vector<DarkRoomGoal>& train,
                       std::vector<DarkRoomGoal>& test) {
  train.clear();
  test.clear();
  for (int i = 0; i < kDarkRoomSize * kDarkRoomSize; ++i) {
    DarkRoomGoal goal{i / kDarkRoomSize, i % kDarkRoomSize};
    (i % test_every == test_offset ? test : train).push_back(goal);
  }
}

std::vector<History> SyntheticDarkRoomHistories(
    const SyntheticDarkRoomOptions& options) {
  std::vector<History> histories;
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  constexpr int kStates = kDarkRoomSize * kDarkRoomSize;
  for (const DarkRoomGoal& goal : options.goals) {
    for (int k = 0; k < options.histories_per_goal; ++k) {
      History h;
      h.history_id = absl::StrCat("synthetic/goal=", goal.x, ",", goal.y, "/",
                                  options.split, "/", k);
      h.task_id = absl::StrCat("darkroom/goal=", goal.x, ",", goal.y);
      h.split = options.split;
      h.obs_dim = 2;
      std::vector<std::array<double, kDarkRoomActions>> q(kStates);
      for (auto& row : q) row.fill(options.initial_q);
      for (int e = 0; e < options.episodes; ++e) {
        int x = kDarkRoomSize / 2;
        int y = kDarkRoomSize / 2;
        for (int t = 0; t < kDarkRoomEpisodeLen; ++t) {
          const int s = x * kDarkRoomSize + y;
          int action;
          if (uniform(rng) < options.epsilon) {
            action = static_cast<int>(rng() % kDarkRoomActions);
          } else {
            // Greedy with random tie-breaking.
            double best = *std::max_element(q[s].begin(), q[s].end());
            int ties[kDarkRoomActions];
            int n = 0;
            for (int a = 0; a < kDarkRoomActions; ++a) {
              if (q[s][a] == best) ties[n++] = a;
            }
            action = ties[rng() % n];
          }
          auto [nx, ny] = DarkRoomMove(x, y, action);
          const float reward = (nx == goal.x && ny == goal.y) ? 1.0f : 0.0f;
          const bool done = t + 1 == kDarkRoomEpisodeLen;
          h.obs.push_back(x);
          h.obs.push_back(y);
          h.actions.push_back(action);
          h.rewards.push_back(reward);
          h.dones.push_back(done ? 1 : 0);
          const int s2 = nx * kDarkRoomSize + ny;
          double target = reward;
          if (!done) {
            target +=
                options.gamma * *std::max_element(q[s2].begin(), q[s2].end());
          }
          q[s][action] += options.alpha * (target - q[s][action]);
          x = nx;
          y = ny;
        }
      }
      histories.push_back(std::move(h));
    }
  }
  return histories;
}

}  // namespace ad::learner
