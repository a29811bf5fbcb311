"""The exported AD policy (learner/export.h) in Python, and in-context
rollouts with it on a Python environment.

    policy = load_policy("runs/x/policy.ts")
    returns = policy.rollout(DarkRoom("darkroom/goal=3,7"), episodes=10)

or step by step:

    context = policy.context()               # empty: nothing seen yet
    obs = env.reset()
    while ...:
        action = policy.act(context, obs)    # conditioned on the context
        next_obs, reward, done = env.step(action)
        context.add(obs, action, reward, done)
        obs = env.reset() if done else next_obs

The weights never change: the policy improves (if it learnt to) only through
what the context holds -- in-context reinforcement learning.

The module takes one token per transition (learner/model.h): token t is
(o_t, a_{t-1}, r_{t-1}, d_{t-1}); the window's first token has no previous
transition (action -1 = "none", reward 0, done 0), exactly as the learner's
TransitionsToInput builds it for training and the evaluator for rollouts.
act() feeds the last context_len - 1 transitions of the context plus the
current observation (a sliding window).
"""

import collections

import numpy as np

from ad_client.errors import InvalidArgument


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("ad_client.policy needs torch (Debian: "
                          f"python3-torch): {e}") from None
    return torch


class Context:
    """The transitions a policy conditions on: the last `max_len` of
    (observation, action, reward, done). Not thread-safe."""

    def __init__(self, obs_dim, max_len):
        self.obs_dim = obs_dim
        self.max_len = max_len
        self._items = collections.deque(maxlen=max_len)

    def add(self, obs, action, reward, done):
        """Records a transition: saw `obs`, took `action`, got `reward`;
        `done` if it ended the episode."""
        o = np.asarray(obs)
        if o.dtype.kind not in "iu" or o.size != self.obs_dim:
            raise InvalidArgument(
                "obs", f"must be {self.obs_dim} integers, got {o.dtype} "
                f"shape {o.shape}")
        if isinstance(action, (bool, np.bool_)) or not isinstance(
                action, (int, np.integer)):
            raise InvalidArgument("action", f"must be an int, got {action!r}")
        if not np.isfinite(reward):
            raise InvalidArgument("reward", f"is {reward!r}; must be finite")
        self._items.append((o.reshape(self.obs_dim).astype(np.int64),
                            int(action), float(reward), 1.0 if done else 0.0))

    def clear(self):
        self._items.clear()

    def __len__(self):
        return len(self._items)

    def tail(self, n):
        """The last n transitions (oldest first)."""
        if n <= 0:
            return []
        items = list(self._items)
        return items[-n:]


class Policy:
    """A loaded TorchScript AD policy. Attributes read from the module:
    num_actions, context_len (transitions per window), obs_dim, obs_high."""

    def __init__(self, module, device="cpu"):
        torch = _torch()
        self.module = module
        self.device = torch.device(device)
        try:
            action_rows = module.action_table.shape[0]
            self.context_len = int(module.pos.shape[0])
            offsets = module.obs_offsets.tolist()
            obs_rows = int(module.obs_table.shape[0])
        except AttributeError as e:
            raise InvalidArgument(
                "module", "is not an exported AD policy (learner/export.h): "
                f"{e}") from None
        self.num_actions = int(action_rows) - 1
        self.obs_dim = len(offsets)
        bounds = [int(v) for v in offsets] + [obs_rows]
        self.obs_high = tuple(b - a for a, b in zip(bounds, bounds[1:]))

    def context(self):
        """An empty context sized to the policy's window."""
        return Context(self.obs_dim, self.context_len)

    def inputs(self, context, obs):
        """The module's inputs [1, T, ...] for the next action at `obs`
        after `context`: (obs int64 [1,T,obs_dim], prev_action int64 [1,T],
        prev_reward float [1,T], prev_done float [1,T])."""
        torch = _torch()
        o = np.asarray(obs)
        if o.dtype.kind not in "iu" or o.size != self.obs_dim:
            raise InvalidArgument(
                "obs", f"must be {self.obs_dim} integers, got {o.dtype} "
                f"shape {o.shape}")
        o = o.reshape(self.obs_dim).astype(np.int64)
        for i, (value, high) in enumerate(zip(o, self.obs_high)):
            if not 0 <= value < high:
                raise InvalidArgument(f"obs[{i}]", f"is {value}; the policy "
                                      f"was trained on [0, {high})")
        past = context.tail(self.context_len - 1)
        t = len(past) + 1
        obs_rows = [p[0] for p in past] + [o]
        prev_action = [-1] + [p[1] for p in past]
        prev_reward = [0.0] + [p[2] for p in past]
        prev_done = [0.0] + [p[3] for p in past]
        def tensor(values, dtype, shape):
            return torch.tensor(np.asarray(values), dtype=dtype,
                                device=self.device).reshape(shape)
        return (tensor(np.stack(obs_rows), torch.int64, (1, t, self.obs_dim)),
                tensor(prev_action, torch.int64, (1, t)),
                tensor(prev_reward, torch.float32, (1, t)),
                tensor(prev_done, torch.float32, (1, t)))

    def next_action_logits(self, context, obs):
        """Logits [num_actions] (NumPy) of the action at `obs`."""
        torch = _torch()
        with torch.no_grad():
            logits = self.module.next_action_logits(*self.inputs(context, obs))
        return logits[0].float().cpu().numpy()

    def act(self, context, obs, temperature=0.0, rng=None):
        """The action at `obs` given `context`: argmax of the logits
        (temperature 0) or a sample of softmax(logits / temperature)."""
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise InvalidArgument("temperature",
                                  f"is {temperature!r}; must be >= 0")
        logits = self.next_action_logits(context, obs).astype(np.float64)
        if temperature == 0:
            return int(np.argmax(logits))
        rng = rng if rng is not None else np.random.default_rng()
        z = logits / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        return int(rng.choice(len(p), p=p))

    def rollout(self, env, episodes, temperature=0.0, seed=0, context=None):
        """Runs `episodes` episodes of `env` with act(), the context filling
        with the policy's own transitions; returns the return per episode.

        env: reset() -> obs and step(action) -> (obs, reward, done) (the
        gymnasium forms (obs, info) and (obs, r, terminated, truncated, info)
        are accepted too). context: continue from this one (e.g. a prompt of
        demonstrations); default: empty.
        """
        if isinstance(episodes, bool) or not isinstance(episodes, int) or \
                episodes < 1:
            raise InvalidArgument("episodes", f"is {episodes!r}; must be an "
                                  "int >= 1")
        rng = np.random.default_rng(seed)
        context = context if context is not None else self.context()
        returns = []
        for _ in range(episodes):
            obs = _reset(env)
            total, done = 0.0, False
            while not done:
                action = self.act(context, obs, temperature, rng)
                next_obs, reward, done = _step(env, action)
                context.add(obs, action, reward, done)
                total += float(reward)
                obs = next_obs
            returns.append(total)
        return returns


def _reset(env):
    result = env.reset()
    if isinstance(result, tuple) and len(result) == 2 and \
            isinstance(result[1], dict):
        return result[0]
    return result


def _step(env, action):
    result = env.step(action)
    if len(result) == 5:  # gymnasium: obs, reward, terminated, truncated, info
        obs, reward, terminated, truncated, _ = result
        return obs, reward, bool(terminated or truncated)
    obs, reward, done = result[:3]
    return obs, reward, bool(done)


def load_policy(path, device="cpu"):
    """Loads a TorchScript policy written by the learner's
    --export_torchscript (learner/export.h)."""
    torch = _torch()
    module = torch.jit.load(str(path), map_location=device)
    module.eval()
    return Policy(module, device)
