"""The Python Dark Room follows envs/darkroom.h: action numbering, walls,
reset at the centre, 20-step episodes, reward on every step on the goal,
task ids, optimal returns (mean 16.54 over the 81 goals, DESIGN.md)."""

import unittest

import numpy as np

from ad_client import InvalidArgument
from ad_client import darkroom
from ad_client.darkroom import DOWN, LEFT, NOOP, RIGHT, UP, DarkRoom


def greedy_action(pos, goal):
    """The C++ expert: x first, then y, then stay."""
    if pos[0] < goal[0]:
        return RIGHT
    if pos[0] > goal[0]:
        return LEFT
    if pos[1] < goal[1]:
        return UP
    if pos[1] > goal[1]:
        return DOWN
    return NOOP


class DarkRoomTest(unittest.TestCase):

    def test_actions_walls_and_reset(self):
        env = DarkRoom("darkroom/goal=0,0")
        np.testing.assert_array_equal(env.reset(), [4, 4])
        moves = {UP: [4, 5], DOWN: [4, 4], LEFT: [3, 4], RIGHT: [4, 4],
                 NOOP: [4, 4]}
        for action, expected in moves.items():
            obs, reward, done = env.step(action)
            np.testing.assert_array_equal(obs, expected, f"action {action}")
            self.assertEqual(reward, 0.0)
            self.assertFalse(done)
        for _ in range(6):  # walk into the right wall
            obs, _, _ = env.step(RIGHT)
        np.testing.assert_array_equal(obs, [8, 4])
        for _ in range(9):
            obs, _, done = env.step(UP)
        np.testing.assert_array_equal(obs, [8, 8])
        self.assertTrue(done)  # 5 + 6 + 9 = 20 steps
        with self.assertRaises(RuntimeError):
            env.step(NOOP)
        np.testing.assert_array_equal(env.reset(), [4, 4])
        with self.assertRaises(InvalidArgument):
            env.step(5)

    def test_reward_on_every_step_on_the_goal(self):
        env = DarkRoom("darkroom/goal=4,6")
        env.reset()
        rewards = [env.step(UP)[1] for _ in range(2)]
        rewards += [env.step(NOOP)[1] for _ in range(18)]
        self.assertEqual(rewards, [0.0] + [1.0] * 19)
        self.assertEqual(sum(rewards), darkroom.optimal_return(env.task_id))

    def test_hard_rewards_once(self):
        env = DarkRoom("darkroom_hard/goal=8,9")
        np.testing.assert_array_equal(env.reset(), [8, 8])
        self.assertEqual([env.step(UP)[1] for _ in range(3)], [1.0, 0.0, 0.0])

    def test_optimal_returns(self):
        tasks = darkroom.all_tasks()
        self.assertEqual(len(tasks), 81)
        self.assertEqual(tasks[0], "darkroom/goal=0,0")
        self.assertEqual(tasks[1], "darkroom/goal=0,1")  # x-major
        returns = []
        for task in tasks:
            env = DarkRoom(task)
            obs, total, done = env.reset(), 0.0, False
            while not done:
                obs, reward, done = env.step(greedy_action(obs, env.goal))
                total += reward
            self.assertEqual(total, darkroom.optimal_return(task), task)
            returns.append(total)
        self.assertAlmostEqual(np.mean(returns), 16.54, places=2)

    def test_task_ids(self):
        self.assertEqual(darkroom.parse_task("darkroom/goal=3,7"),
                         ("darkroom", (3, 7)))
        self.assertEqual(darkroom.format_task((3, 7)), "darkroom/goal=3,7")
        for bad in ("darkroom/goal=9,0", "darkroom/goal=3", "dark/goal=1,1",
                    "darkroom/goal=1,1 ", 7):
            with self.subTest(bad=bad), self.assertRaises(InvalidArgument):
                darkroom.parse_task(bad)


if __name__ == "__main__":
    unittest.main()
