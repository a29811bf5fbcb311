"""Dark Room in pure Python, with the rules of envs/darkroom.h.

9x9 grid (17x17 for darkroom_hard), episode of 20 steps, every episode starts
at the centre cell (4, 4); the observation is the cell (x, y); the goal is
invisible. Actions (envs/grid.h): 0 no-op, 1 up (y+1), 2 down (y-1),
3 left (x-1), 4 right (x+1); a move into a wall leaves the agent in place.
Reward 1 on every step that ends on the goal (staying on it included), 0
otherwise (darkroom_hard: 1 only on the first such step of an episode).
Task ids "darkroom/goal=X,Y" as in C++.

One difference of interface, none of data: the C++ batched env resets an
instance inside the step that ends its episode, so its step returns the next
episode's first observation; here step() returns the cell the agent moved to
and the caller calls reset() after done (gymnasium style). The transitions an
agent records -- (observation seen, action, reward, done) -- are the same.
"""

import re

import numpy as np

from ad_client.errors import InvalidArgument

NUM_ACTIONS = 5
NOOP, UP, DOWN, LEFT, RIGHT = range(NUM_ACTIONS)
ACTION_NAMES = ("no-op", "up", "down", "left", "right")
# (dx, dy) per action, in the numbering above.
MOVES = ((0, 0), (0, 1), (0, -1), (-1, 0), (1, 0))

_FAMILIES = {
    # family: (size, episode_len, reward_once)
    "darkroom": (9, 20, False),
    "darkroom_hard": (17, 20, True),
}
_TASK_RE = re.compile(r"([a-z_]+)/goal=(-?\d+),(-?\d+)\Z")


def format_task(goal, family="darkroom"):
    """'darkroom/goal=X,Y'."""
    size = _FAMILIES[family][0]
    x, y = (int(v) for v in goal)
    if not (0 <= x < size and 0 <= y < size):
        raise InvalidArgument("goal", f"({x},{y}) is off the {size}x{size} "
                              f"{family} grid")
    return f"{family}/goal={x},{y}"


def parse_task(task_id):
    """(family, (x, y)) of a task id; InvalidArgument if malformed."""
    match = _TASK_RE.match(task_id) if isinstance(task_id, str) else None
    if not match or match.group(1) not in _FAMILIES:
        raise InvalidArgument(
            "task_id", f"{task_id!r} is not of the form "
            "'darkroom/goal=X,Y' or 'darkroom_hard/goal=X,Y'")
    family = match.group(1)
    goal = (int(match.group(2)), int(match.group(3)))
    format_task(goal, family)  # range check
    return family, goal


def all_tasks(family="darkroom"):
    """Every task id of the family, x-major (as DarkRoomFamily::AllTasks)."""
    size = _FAMILIES[family][0]
    return [format_task((x, y), family) for x in range(size)
            for y in range(size)]


def optimal_return(task_id):
    """Return of an optimal episode (DarkRoomOptimalReturn)."""
    family, (x, y) = parse_task(task_id)
    size, episode_len, reward_once = _FAMILIES[family]
    distance = abs(x - size // 2) + abs(y - size // 2)
    if distance > episode_len:
        return 0.0
    if reward_once:
        return 1.0
    return float(min(episode_len, episode_len + 1 - distance))


class DarkRoom:
    """One Dark Room instance. reset() -> obs; step(a) -> (obs, reward, done).

    obs is an int32 array [x, y]. Deterministic: no randomness anywhere.
    """

    obs_dim = 2
    num_actions = NUM_ACTIONS

    def __init__(self, task_id="darkroom/goal=0,0"):
        self.family, self.goal = parse_task(task_id)
        self.task_id = task_id
        self.size, self.episode_len, self.reward_once = _FAMILIES[self.family]
        self.obs_high = (self.size, self.size)
        self.centre = (self.size // 2, self.size // 2)
        self._pos = self.centre
        self._steps = 0
        self._rewarded = False
        self._needs_reset = True

    def reset(self):
        self._pos = self.centre
        self._steps = 0
        self._rewarded = False
        self._needs_reset = False
        return np.array(self._pos, np.int32)

    def step(self, action):
        if self._needs_reset:
            raise RuntimeError("DarkRoom.step before reset() (or after done)")
        if isinstance(action, (bool, np.bool_)) or not isinstance(
                action, (int, np.integer)) or not 0 <= action < NUM_ACTIONS:
            raise InvalidArgument("action", f"is {action!r}; must be an int "
                                  f"in [0, {NUM_ACTIONS})")
        dx, dy = MOVES[int(action)]
        x = min(max(self._pos[0] + dx, 0), self.size - 1)
        y = min(max(self._pos[1] + dy, 0), self.size - 1)
        self._pos = (x, y)
        reward = 0.0
        if self._pos == self.goal and not self._rewarded:
            reward = 1.0
            self._rewarded = self.reward_once
        self._steps += 1
        done = self._steps == self.episode_len
        self._needs_reset = done
        return np.array(self._pos, np.int32), reward, done
