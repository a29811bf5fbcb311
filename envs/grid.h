// Square-grid geometry shared by the grid worlds (Dark Room, Dark Room Hard,
// Dark Key-to-Door): cell coordinates, the five actions and how they move
// the agent, and the greedy move an expert makes toward a target cell.
//
// Actions (0-based ids, the same in every grid family):
//   0 no-op, 1 up (y + 1), 2 down (y - 1), 3 left (x - 1), 4 right (x + 1).
// A move into a wall leaves the agent where it is. Everything here is inline
// and allocation-free: it runs once per instance per step.
#ifndef AD_ENVS_GRID_H_
#define AD_ENVS_GRID_H_

#include <cstdint>
#include <cstdlib>

namespace ad::envs {

enum GridAction : int32_t {
  kNoOp = 0,
  kUp = 1,
  kDown = 2,
  kLeft = 3,
  kRight = 4,
};
inline constexpr int kNumGridActions = 5;

// Human-readable summary of the actions, for SpaceSpec descriptions.
inline constexpr char kGridActionsDoc[] =
    "actions: 0 no-op, 1 up (y+1), 2 down (y-1), 3 left (x-1), 4 right "
    "(x+1); a move into a wall leaves the agent in place";

struct GridPos {
  int32_t x = 0;
  int32_t y = 0;

  friend bool operator==(GridPos a, GridPos b) {
    return a.x == b.x && a.y == b.y;
  }
  friend bool operator!=(GridPos a, GridPos b) { return !(a == b); }
};

inline int ManhattanDistance(GridPos a, GridPos b) {
  return std::abs(a.x - b.x) + std::abs(a.y - b.y);
}

// The cell reached from `p` by `action` on a `size` x `size` grid. `action`
// must be a valid grid action (callers validate before stepping).
inline GridPos ApplyGridAction(GridPos p, int32_t action, int32_t size) {
  static constexpr int32_t kDx[kNumGridActions] = {0, 0, 0, -1, 1};
  static constexpr int32_t kDy[kNumGridActions] = {0, 1, -1, 0, 0};
  const int32_t x = p.x + kDx[action];
  const int32_t y = p.y + kDy[action];
  return GridPos{(x < 0 || x >= size) ? p.x : x,
                 (y < 0 || y >= size) ? p.y : y};
}

// A shortest-path action from `from` to `to` (x first, then y); kNoOp when
// already there.
inline int32_t GreedyActionToward(GridPos from, GridPos to) {
  if (from.x < to.x) return kRight;
  if (from.x > to.x) return kLeft;
  if (from.y < to.y) return kUp;
  if (from.y > to.y) return kDown;
  return kNoOp;
}

}  // namespace ad::envs

#endif  // AD_ENVS_GRID_H_
