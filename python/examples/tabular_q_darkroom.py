#!/usr/bin/env python3
"""A pure-Python tabular Q-learning agent on the Python Dark Room, pushing
its learning histories into a running ad-store -- the Python counterpart of
`ad-actor --source=tabular_q`, and the way to get your own agent's learning
histories to the AD learner.

    PYTHONPATH=python:build/python /usr/bin/python3 \\
        python/examples/tabular_q_darkroom.py --store=127.0.0.1:50052 \\
        --goals=8 --episodes=200

One history per (goal, stream): the whole learning run of one agent, from
its first episode to its last, appended transition by transition from the RL
loop through a HistoryWriter (chunks acknowledged by the store, retried
exactly-once if the store restarts). The agent follows actors/tabular_q.h:
epsilon-greedy with epsilon annealed linearly from 0.2 to 0 over the first
half of the episodes, optimistic initial values 1.0, learning rate 0.5,
discount 0.9, an episode end treated as terminal, random tie-breaking.

--check reads everything back and exits non-zero unless the store holds
every history complete with the returns the agent saw, and the agents
learnt (late episodes beat early ones).
"""

import argparse
import random
import sys
import time

from ad_client import Store
from ad_client import darkroom
from ad_client.darkroom import DarkRoom


class TabularQ:
    """Q-learning over (x, y) cells; pure Python, one table per agent."""

    def __init__(self, num_actions, episodes, rng, learning_rate=0.5,
                 discount=0.9, q_init=1.0, epsilon_start=0.2,
                 epsilon_end=0.0, epsilon_decay_fraction=0.5):
        self.num_actions = num_actions
        self.rng = rng
        self.learning_rate = learning_rate
        self.discount = discount
        self.q_init = q_init
        self.epsilon_start = epsilon_start
        self.epsilon_end = epsilon_end
        self.decay_episodes = max(1.0, epsilon_decay_fraction * episodes)
        self.q = {}  # (x, y) -> [value per action]
        self.episodes = 0

    def _row(self, obs):
        key = (int(obs[0]), int(obs[1]))
        row = self.q.get(key)
        if row is None:
            row = self.q[key] = [self.q_init] * self.num_actions
        return row

    def act(self, obs):
        frac = min(1.0, self.episodes / self.decay_episodes)
        epsilon = self.epsilon_start + frac * (self.epsilon_end -
                                               self.epsilon_start)
        if self.rng.random() < epsilon:
            return self.rng.randrange(self.num_actions)
        row = self._row(obs)
        best = max(row)
        return self.rng.choice([a for a, v in enumerate(row) if v == best])

    def observe(self, obs, action, reward, next_obs, done):
        target = reward
        if done:
            self.episodes += 1
        else:
            target += self.discount * max(self._row(next_obs))
        row = self._row(obs)
        row[action] += self.learning_rate * (target - row[action])


def pick_goals(count):
    tasks = darkroom.all_tasks()
    count = max(1, min(count, len(tasks)))
    return [tasks[(i * len(tasks)) // count] for i in range(count)]


def run_history(store, task_id, stream, args):
    """Runs one agent on one goal for args.episodes episodes, appending every
    transition to the store; returns the per-episode returns."""
    env = DarkRoom(task_id)
    agent = TabularQ(env.num_actions, args.episodes,
                     random.Random(f"{args.seed}/{task_id}/{stream}"))
    meta = {
        "history_id": f"{args.source}:{task_id}:seed={args.seed}:"
                      f"stream={stream}",
        "env": env.family, "task_id": task_id, "source": args.source,
        "seed": args.seed, "stream": stream, "split": args.split,
        "obs_dim": env.obs_dim, "num_actions": env.num_actions,
    }
    returns = []
    with store.writer(meta, chunk_transitions=args.chunk) as writer:
        for _ in range(args.episodes):
            obs, total, done = env.reset(), 0.0, False
            while not done:
                action = agent.act(obs)
                next_obs, reward, done = env.step(action)
                writer.append(obs, action, reward, done)
                agent.observe(obs, action, reward, next_obs, done)
                total += reward
                obs = next_obs
            returns.append(total)
    return meta["history_id"], returns


def check(store, results, args):
    """Reads the histories back; returns a list of problems."""
    problems = []
    tasks = {t.task_id: t for t in store.tasks(env="darkroom")}
    for task_id in {task for task, _, _ in results}:
        summary = tasks.get(task_id)
        mine = [h for h in store.histories(task_id) if h.source == args.source]
        if summary is None or len(mine) != args.streams:
            problems.append(f"{task_id}: {len(mine)} histories of source "
                            f"{args.source} stored; expected {args.streams}")
    for task_id, history_id, returns in results:
        info = store.history_meta(history_id)
        if not info.complete or info.length != 20 * args.episodes:
            problems.append(f"{history_id}: complete={info.complete} "
                            f"length={info.length}; expected complete, "
                            f"{20 * args.episodes}")
        if list(info.episode_returns) != returns:
            problems.append(f"{history_id}: stored episode returns differ "
                            "from the agent's")
    tenth = max(1, args.episodes // 10)
    early = sum(sum(r[:tenth]) / tenth for _, _, r in results) / len(results)
    late = sum(sum(r[-tenth:]) / tenth for _, _, r in results) / len(results)
    if not late > early:
        problems.append(f"no learning: mean return {early:.2f} in the first "
                        f"{tenth} episodes, {late:.2f} in the last {tenth}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="127.0.0.1:50052",
                        help="ad-store address")
    parser.add_argument("--goals", type=int, default=8,
                        help="goals, evenly spaced over the 81")
    parser.add_argument("--tasks", default="",
                        help="space-separated task ids, e.g. "
                             "'darkroom/goal=1,2 darkroom/goal=7,7' "
                             "(overrides --goals)")
    parser.add_argument("--episodes", type=int, default=200,
                        help="episodes per history")
    parser.add_argument("--streams", type=int, default=1,
                        help="independent agents (histories) per goal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="train", choices=("train", "test"))
    parser.add_argument("--source", default="py_tabular_q",
                        help="source name stored with the histories")
    parser.add_argument("--chunk", type=int, default=1000,
                        help="transitions per chunk")
    parser.add_argument("--check", action="store_true",
                        help="read back and verify; exit 1 on a problem")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.episodes < 1 or args.streams < 1:
        parser.error("--episodes and --streams must be >= 1")
    goals = args.tasks.split() if args.tasks else pick_goals(args.goals)
    for task in goals:
        darkroom.parse_task(task)  # errors first

    store = Store(args.store)
    store.wait_ready(timeout=30)
    start = time.monotonic()
    results = []
    for task_id in goals:
        for stream in range(args.streams):
            history_id, returns = run_history(store, task_id, stream, args)
            results.append((task_id, history_id, returns))
            if not args.quiet:
                tenth = max(1, args.episodes // 10)
                print(f"{history_id}: return {sum(returns[:tenth]) / tenth:5.2f}"
                      f" (first {tenth} episodes) -> "
                      f"{sum(returns[-tenth:]) / tenth:5.2f} (last {tenth}); "
                      f"optimal {darkroom.optimal_return(task_id):.0f}",
                      flush=True)
    elapsed = time.monotonic() - start
    transitions = 20 * args.episodes * len(results)
    print(f"appended {len(results)} histories, {transitions} transitions to "
          f"{args.store} in {elapsed:.1f} s "
          f"({transitions / max(elapsed, 1e-9):.0f} transitions/s)")
    if args.check:
        problems = check(store, results, args)
        for problem in problems:
            print("CHECK FAILED:", problem, file=sys.stderr)
        if problems:
            return 1
        print(f"check: {len(results)} histories complete in the store, "
              "returns as the agents saw them, late episodes beat early ones")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
