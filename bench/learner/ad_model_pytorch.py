#!/usr/bin/python3
"""Baseline for the learner benchmark: the same AD model, batch and data as
the C++ learner, written as a straightforward PyTorch training loop.

Same architecture as learner/model.h (one token per transition: obs
embedding + previous action + previous reward + episode-boundary marker +
absolute position; post-norm GPT blocks with attention dropout; sequence
mask; GELU MLP; linear head), same loss (cross-entropy with label
smoothing), Adam with the same betas, global-norm clipping and warm-up +
cosine schedule. Data: the batches the C++ bench dumped
(ad_bench_learner --dump_batches), cycled.

Usage (run_bench.sh does this):
  /usr/bin/python3 ad_model_pytorch.py --config cpu-demo.cfg \
      --batches batches.bin --steps 30 --warmup 5 --threads 2
Prints one JSON line like the C++ bench.
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_config(path):
    """key = value lines (learner/presets format) into a flat dict."""
    config = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, value = (s.strip() for s in line.split("=", 1))
            config[key] = value
    return config


class Block(nn.Module):
    def __init__(self, d, heads, ff, dropout, attn_dropout, post_norm):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.fc1 = nn.Linear(d, ff)
        self.fc2 = nn.Linear(ff, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.attn_drop = nn.Dropout(attn_dropout)
        self.post_norm = post_norm

    def attention(self, x, mask):
        b, t, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(b, t, self.heads, hd).transpose(1, 2)
        k = k.view(b, t, self.heads, hd).transpose(1, 2)
        v = v.view(b, t, self.heads, hd).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        scores = scores.masked_fill(mask[:t, :t], float("-inf"))
        probs = self.attn_drop(torch.softmax(scores, dim=-1))
        out = (probs @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(out)

    def forward(self, x, mask):
        if self.post_norm:
            x = self.norm1(x + self.drop(self.attention(x, mask)))
            return self.norm2(
                x + self.drop(self.fc2(self.drop(F.gelu(self.fc1(x))))))
        x = x + self.drop(self.attention(self.norm1(x), mask))
        return x + self.drop(self.fc2(self.drop(F.gelu(self.fc1(self.norm2(x))))))


class ADModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = int(c["model.embed_dim"])
        self.obs_high = [int(v) for v in c["model.obs_high"].split(",")]
        self.num_actions = int(c["model.num_actions"])
        self.context = int(c["model.context_len"])
        self.mask_prob = float(c["model.sequence_mask_prob"])
        self.obs_embed = nn.ModuleList(nn.Embedding(h, d) for h in self.obs_high)
        self.action_embed = nn.Embedding(self.num_actions + 1, d)
        self.reward_proj = nn.Linear(1, d)
        self.boundary = nn.Parameter(torch.zeros(d))
        self.mask_embed = nn.Parameter(torch.zeros(d))
        self.pos = nn.Embedding(self.context, d)
        self.drop = nn.Dropout(float(c["model.dropout"]))
        post_norm = c["model.post_norm"] == "true"
        self.blocks = nn.ModuleList(
            Block(d, int(c["model.num_heads"]), int(c["model.ff_dim"]),
                  float(c["model.dropout"]), float(c["model.attention_dropout"]),
                  post_norm) for _ in range(int(c["model.num_layers"])))
        self.final_norm = None if post_norm else nn.LayerNorm(d)
        self.head = nn.Linear(d, self.num_actions)
        self.register_buffer("mask", torch.triu(
            torch.ones(self.context, self.context, dtype=torch.bool), 1))

    def forward(self, obs, prev_action, prev_reward, prev_done):
        b, t, _ = obs.shape
        x = sum(e(obs[:, :, i]) for i, e in enumerate(self.obs_embed))
        prev_action = torch.where(prev_action < 0,
                                  torch.full_like(prev_action, self.num_actions),
                                  prev_action)
        x = x + self.action_embed(prev_action)
        x = x + self.reward_proj(prev_reward.unsqueeze(-1))
        x = x + prev_done.unsqueeze(-1) * self.boundary
        if self.training and self.mask_prob > 0:
            masked = torch.rand(b, t, 1) < self.mask_prob
            x = torch.where(masked, self.mask_embed.expand_as(x), x)
        x = self.drop(x + self.pos.weight[:t])
        for block in self.blocks:
            x = block(x, self.mask)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return self.head(x)


def learning_rate(c, step):
    init, peak, final = (float(c[k]) for k in
                         ("train.lr_init", "train.lr_peak", "train.lr_final"))
    warmup, steps = int(c["train.warmup_steps"]), int(c["train.steps"])
    if step < warmup:
        return init + step / warmup * (peak - init)
    if step >= steps:
        return final
    frac = (step - warmup) / (steps - warmup)
    return final + 0.5 * (1 + math.cos(math.pi * frac)) * (peak - final)


def read_batches(path, b, t, obs_dim):
    raw = open(path, "rb").read()
    per = b * t * (4 * obs_dim + 4 + 4 + 1)
    batches = []
    for off in range(0, len(raw) - per + 1, per):
        o = off
        obs = np.frombuffer(raw, np.int32, b * t * obs_dim, o).reshape(b, t, obs_dim)
        o += obs.nbytes
        act = np.frombuffer(raw, np.int32, b * t, o).reshape(b, t)
        o += act.nbytes
        rew = np.frombuffer(raw, np.float32, b * t, o).reshape(b, t)
        o += rew.nbytes
        done = np.frombuffer(raw, np.uint8, b * t, o).reshape(b, t)
        batches.append((obs, act, rew, done))
    return batches


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True, help="FormatConfig output")
    p.add_argument("--batches", required=True)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    c = load_config(args.config)
    torch.manual_seed(int(c["train.seed"]))
    b, t = int(c["train.batch_size"]), int(c["model.context_len"])
    batches = read_batches(args.batches, b, t, int(c["model.obs_dim"]))
    model = ADModel(c)
    opt = torch.optim.Adam(model.parameters(), lr=float(c["train.lr_init"]),
                           betas=(float(c["train.adam_beta1"]),
                                  float(c["train.adam_beta2"])),
                           eps=float(c["train.adam_eps"]))
    clip = float(c["train.grad_clip_norm"])
    smoothing = float(c["train.label_smoothing"])
    model.train()
    measured = 0.0
    measured_cpu = 0.0
    loss = None
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        cpu_start = time.process_time()
        obs, act, rew, done = batches[step % len(batches)]
        # Data preparation inline, as a plain training loop does it.
        obs = torch.from_numpy(obs.astype(np.int64))
        act = torch.from_numpy(act.astype(np.int64))
        rew = torch.from_numpy(rew.copy())
        done = torch.from_numpy(done.astype(np.float32))
        prev_action = torch.cat([torch.full((b, 1), -1), act[:, :-1]], 1)
        prev_reward = torch.cat([torch.zeros(b, 1), rew[:, :-1]], 1)
        prev_done = torch.cat([torch.zeros(b, 1), done[:, :-1]], 1)
        for group in opt.param_groups:
            group["lr"] = learning_rate(c, step)
        logits = model(obs, prev_action, prev_reward, prev_done)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                               act.reshape(-1), label_smoothing=smoothing)
        opt.zero_grad()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        loss_value = loss.item()
        if step >= args.warmup:
            measured += time.perf_counter() - start
            measured_cpu += time.process_time() - cpu_start
    tokens = args.steps * b * t
    print(json.dumps({
        "impl": "python", "preset": c.get("preset", "?"),
        "threads": args.threads, "batch": b, "window": t, "steps": args.steps,
        "tokens_per_second": round(tokens / measured, 1),
        "cpu_tokens_per_second": round(tokens / measured_cpu, 1),
        "step_ms": round(1000 * measured / args.steps, 2),
        "loss": round(loss_value, 4)}, separators=(",", ":")))


if __name__ == "__main__":
    main()
