// Dark Room and Dark Room Hard (Laskin et al. 2022, section 4.1): an agent
// that sees only its own (x, y) cell must find an invisible goal from reward.
//
// Both families share one implementation, parameterised by DarkRoomParams:
//   darkroom       9x9, episode 20, r = 1 on EVERY step that ends on the goal
//                  (staying on it included), 81 tasks.
//   darkroom_hard  17x17, episode 20, r = 1 exactly once per episode, on the
//                  first step that ends on the goal, 289 tasks.
// Every episode starts at the centre cell ((4,4) or (8,8)). Observation: the
// cell (x, y) after the step, obs_high = (size, size). Actions are the grid
// actions of envs/grid.h: 0 no-op, 1 up (y+1), 2 down (y-1), 3 left (x-1),
// 4 right (x+1); a move into a wall leaves the agent in place.
//
// Task ids: "darkroom/goal=X,Y" and "darkroom_hard/goal=X,Y", 0 <= X, Y <
// size. The dynamics use no randomness; the seed of Make is accepted and
// ignored. The expert moves toward the goal (x first) and then stays.
//
// The families are registered in envs/registry.cc; tests and tools that need
// the parameters or the task-id functions directly use this header.
#ifndef AD_ENVS_DARKROOM_H_
#define AD_ENVS_DARKROOM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envs/env.h"
#include "envs/grid.h"

namespace ad::envs {

struct DarkRoomParams {
  std::string family;        // family name and task-id prefix
  int32_t size = 9;          // cells per side
  int32_t episode_len = 20;  // steps per episode
  bool reward_once = false;  // true: r = 1 only on the first visit per episode

  GridPos centre() const { return GridPos{size / 2, size / 2}; }
};

DarkRoomParams DarkRoomDefaultParams();  // "darkroom"
DarkRoomParams DarkRoomHardParams();     // "darkroom_hard"

// "darkroom/goal=3,7". The goal must lie on the grid (dies otherwise).
std::string FormatDarkRoomTask(const DarkRoomParams& params, GridPos goal);

// The goal of a task id: INVALID_ARGUMENT if malformed, NOT_FOUND if the
// goal lies off the grid.
absl::StatusOr<GridPos> ParseDarkRoomTask(const DarkRoomParams& params,
                                          std::string_view task_id);

// Return of an optimal episode: with d = manhattan(goal, centre),
// min(L, L + 1 - d) for darkroom (reward from step max(d, 1) to step L) and
// 1 for darkroom_hard when d <= L (0 otherwise).
double DarkRoomOptimalReturn(const DarkRoomParams& params, GridPos goal);

class DarkRoomFamily : public EnvFamily {
 public:
  explicit DarkRoomFamily(DarkRoomParams params);

  const SpaceSpec& space() const override { return space_; }
  std::vector<std::string> AllTasks() const override;  // x-major order
  absl::Status ValidateTask(std::string_view task_id) const override;
  absl::StatusOr<double> OptimalReturn(std::string_view task_id) const override;
  absl::StatusOr<std::unique_ptr<BatchedEnv>> Make(
      absl::Span<const std::string> task_ids, int num_envs,
      uint64_t seed) const override;

 private:
  DarkRoomParams params_;
  SpaceSpec space_;
};

}  // namespace ad::envs

#endif  // AD_ENVS_DARKROOM_H_
