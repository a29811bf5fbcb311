// Self-contained Dark Room learning histories for tests, benchmarks and the
// cpu-demo sizing probe, so the learner can be exercised before (and
// without) the env and actor modules.
//
// Dark Room as in DESIGN.md: a 9x9 grid, reset at the centre (4, 4),
// observation (x, y), 5 actions (0 no-op, 1 x+1, 2 x-1, 3 y+1, 4 y-1,
// clamped at the walls), 20 steps per episode, reward 1 on every step that
// ends on the goal. The source algorithm is tabular Q-learning with
// optimistic initial values and epsilon-greedy exploration, one learner per
// history: early episodes explore, later ones walk to the goal -- a genuine
// learning history for AD to distil. Not thread-safe state; pure functions.
#ifndef AD_LEARNER_SYNTHETIC_DARKROOM_H_
#define AD_LEARNER_SYNTHETIC_DARKROOM_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "learner/in_process_source.h"

namespace ad::learner {

inline constexpr int kDarkRoomSize = 9;
inline constexpr int kDarkRoomEpisodeLen = 20;
inline constexpr int kDarkRoomActions = 5;

struct DarkRoomGoal {
  int x = 0;
  int y = 0;
};

// The position after `action` from (x, y).
std::pair<int, int> DarkRoomMove(int x, int y, int action);

// Return of the optimal policy: 21 - manhattan(goal, centre), capped at 20.
int DarkRoomOptimalReturn(const DarkRoomGoal& goal);

// All 81 goals in a fixed order, split deterministically: every goal whose
// index i has i % test_every == test_offset is a test goal.
void DarkRoomGoalSplit(int test_every, int test_offset,
                       std::vector<DarkRoomGoal>& train,
                       std::vector<DarkRoomGoal>& test);

struct SyntheticDarkRoomOptions {
  std::vector<DarkRoomGoal> goals;
  int histories_per_goal = 1;
  int episodes = 100;  // per history
  uint64_t seed = 1;
  std::string split = "train";
  // Q-learning source.
  double alpha = 0.5;
  double gamma = 0.9;
  double epsilon = 0.1;
  double initial_q = 2.0;  // optimism drives systematic exploration
};

std::vector<History> SyntheticDarkRoomHistories(
    const SyntheticDarkRoomOptions& options);

}  // namespace ad::learner

#endif  // AD_LEARNER_SYNTHETIC_DARKROOM_H_
