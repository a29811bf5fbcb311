// Dark Key-to-Door (Laskin et al. 2022, section 4.1): on a 9x9 grid the agent
// must first step onto an invisible key and then onto an invisible door.
//
// Rules: episode 50 steps; every episode starts at a uniformly random cell
// drawn from the instance's own generator (seeded from (seed, instance index)
// in Make); observation (x, y) only. r = 1 once per episode on the first step
// that ends on the key, and r = 1 once on the first later step that ends on
// the door while holding the key (when key == door, the step that picks the
// key up pays only the key; the next step on that cell pays the door).
// Otherwise r = 0. Optimal return 2 for every task: key and door are each at
// most 16 moves away and an episode has 50 steps. Actions are the grid
// actions of envs/grid.h: 0 no-op, 1 up (y+1), 2 down (y-1), 3 left (x-1),
// 4 right (x+1); a move into a wall leaves the agent in place.
//
// Task ids: "key_to_door/key=KX,KY;door=DX,DY", coordinates in [0, 9), 6561
// tasks. The expert walks to the key, then to the door, then stays.
#ifndef AD_ENVS_KEY_TO_DOOR_H_
#define AD_ENVS_KEY_TO_DOOR_H_

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

inline constexpr int32_t kKeyToDoorSize = 9;         // cells per side
inline constexpr int32_t kKeyToDoorEpisodeLen = 50;  // steps per episode

struct KeyToDoorTask {
  GridPos key;
  GridPos door;
};

// "key_to_door/key=1,2;door=7,0". Dies if a cell is off the grid.
std::string FormatKeyToDoorTask(const KeyToDoorTask& task);

// INVALID_ARGUMENT if malformed, NOT_FOUND if a cell lies off the grid.
absl::StatusOr<KeyToDoorTask> ParseKeyToDoorTask(std::string_view task_id);

class KeyToDoorFamily : public EnvFamily {
 public:
  KeyToDoorFamily();

  const SpaceSpec& space() const override { return space_; }
  // Key-major, each cell x-major.
  std::vector<std::string> AllTasks() const override;
  absl::Status ValidateTask(std::string_view task_id) const override;
  absl::StatusOr<double> OptimalReturn(std::string_view task_id) const override;
  absl::StatusOr<std::unique_ptr<BatchedEnv>> Make(
      absl::Span<const std::string> task_ids, int num_envs,
      uint64_t seed) const override;

 private:
  SpaceSpec space_;
};

}  // namespace ad::envs

#endif  // AD_ENVS_KEY_TO_DOOR_H_
