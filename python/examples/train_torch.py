#!/usr/bin/env python3
"""A PyTorch training loop on windows sampled from the store: a tiny causal
transformer learns to predict the next action of the stored learning
histories (the Algorithm Distillation objective, in a few dozen lines).

    PYTHONPATH=python:build/python /usr/bin/python3 \\
        python/examples/train_torch.py --store=127.0.0.1:50052 --steps=300

Windows come from Store.sample_windows as torch tensors, decoded on the
client's prefetch thread while the model trains. The token of transition t
is E_x(x_t) + E_y(y_t) + E_a(a_{t-1}) + w r_{t-1} + d_{t-1} e + E_pos(t) --
the learner's layout (learner/model.h) -- and the output at t is a
distribution over a_t; attention is causal. --check exits non-zero unless
the loss fell and the action accuracy beat chance.
"""

import argparse
import math
import sys
import time

import torch
from torch import nn

from ad_client import Store


class TinyAD(nn.Module):
    """A one-token-per-transition causal transformer over (x, y) cells."""

    def __init__(self, obs_high, num_actions, context_len, dim=32, layers=1,
                 heads=2):
        super().__init__()
        self.obs_embed = nn.ModuleList(nn.Embedding(h, dim) for h in obs_high)
        self.action_embed = nn.Embedding(num_actions + 1, dim)  # + "none"
        self.reward_proj = nn.Linear(1, dim)
        self.boundary = nn.Parameter(torch.zeros(dim))
        self.pos = nn.Embedding(context_len, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0,
                                           batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(dim, num_actions)
        self.num_actions = num_actions

    def forward(self, obs, actions, rewards, dones):
        """obs [B,T,2] int64, actions [B,T] int64, rewards/dones [B,T] float
        -> logits [B,T,A]; the action at t is predicted from tokens <= t."""
        b, t = actions.shape
        none = torch.full((b, 1), self.num_actions, dtype=torch.long)
        prev_action = torch.cat([none, actions[:, :-1]], 1)
        zero = torch.zeros(b, 1)
        prev_reward = torch.cat([zero, rewards[:, :-1]], 1)
        prev_done = torch.cat([zero, dones[:, :-1]], 1)
        x = sum(embed(obs[..., i]) for i, embed in enumerate(self.obs_embed))
        x = x + self.action_embed(prev_action)
        x = x + self.reward_proj(prev_reward.unsqueeze(-1))
        x = x + prev_done.unsqueeze(-1) * self.boundary
        x = x + self.pos(torch.arange(t))
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        return self.head(self.blocks(x, mask=causal))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="127.0.0.1:50052")
    parser.add_argument("--env", default="darkroom")
    parser.add_argument("--source", default="",
                        help="only histories of this source (default: any)")
    parser.add_argument("--window", type=int, default=40,
                        help="transitions per window (2 Dark Room episodes)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless the loss fell and accuracy beat "
                             "chance")
    args = parser.parse_args()
    if args.steps < 40:
        parser.error("--steps must be >= 40 (the check compares the first "
                     "and last 20)")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    store = Store(args.store)
    store.wait_ready(timeout=30)
    model = TinyAD(obs_high=(9, 9), num_actions=5, context_len=args.window)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    losses, accuracies = [], []
    wait = 0.0
    start = time.monotonic()
    windows = store.sample_windows(
        {"env": args.env, "source": args.source, "split": "train"},
        window_len=args.window, batch_size=args.batch, num_batches=args.steps,
        seed=args.seed, min_transitions=args.window, tensors="torch",
        prefetch=4)
    with windows:
        while True:
            t0 = time.monotonic()
            batch = next(windows, None)
            wait += time.monotonic() - t0
            if batch is None:
                break
            logits = model(batch.obs, batch.actions, batch.rewards,
                           batch.dones)
            loss = nn.functional.cross_entropy(logits.reshape(-1, 5),
                                               batch.actions.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
            accuracies.append(
                (logits.argmax(-1) == batch.actions).float().mean().item())
            step = len(losses)
            if step % 50 == 0 or step == args.steps:
                print(f"step {step:4d}  loss {sum(losses[-50:]) / len(losses[-50:]):.3f}"
                      f"  action accuracy "
                      f"{sum(accuracies[-50:]) / len(accuracies[-50:]):.2f}",
                      flush=True)
    elapsed = time.monotonic() - start
    first = sum(losses[:20]) / 20
    last = sum(losses[-20:]) / 20
    accuracy = sum(accuracies[-20:]) / 20
    print(f"{len(losses)} steps in {elapsed:.1f} s ({wait / elapsed:.0%} "
          f"waiting for windows); loss {first:.3f} -> {last:.3f} "
          f"(uniform: {math.log(5):.3f}); accuracy {accuracy:.2f} "
          "(chance 0.20)")
    store.close()
    if args.check and not (last < 0.9 * first and accuracy > 0.3):
        print("CHECK FAILED: the loss did not fall by 10% or accuracy is not "
              "above 0.3", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
