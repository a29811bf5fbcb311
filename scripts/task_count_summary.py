#!/usr/bin/env python3
"""Fig. 12 summary: AD's return against the number of training tasks.

  scripts/task_count_summary.py OUT_DIR POINT [POINT...]

Each POINT is a directory OUT_DIR/POINT written by `scripts/reproduce.sh
task_count`: summary.json (the held-out evaluation, reproduce_summary.py)
and train_goals/summary.json (the same checkpoint on the goals it was
trained on). Prints a Markdown table: training tasks, AD over the first 3
and last 10 episodes as a fraction of optimal on held-out goals and on its
train goals, and the heuristic on the held-out goals. Writes
OUT_DIR/task_count.png when matplotlib is importable. Reads only what the
evaluator wrote.
"""
import json
import os
import sys


def method(summary, name):
    for m in summary["methods"]:
        if m["method"].lower() == name:
            return m
    sys.exit(f"task_count_summary: no method '{name}' in "
             f"{[m['method'] for m in summary['methods']]}")


def load(path):
    if not os.path.exists(path):
        sys.exit(f"task_count_summary: {path} does not exist (did that "
                 "point finish?)")
    with open(path) as f:
        return json.load(f)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip())
    out, points = sys.argv[1], sys.argv[2:]
    rows = []
    for p in points:
        held = load(os.path.join(out, p, "summary.json"))
        train = load(os.path.join(out, p, "train_goals", "summary.json"))
        ad_train = method(train, "ad")
        # Rows are tasks x seeds; every task has the same number of seeds.
        tasks = ad_train["rows"] // ad_train["seeds"]
        rows.append({
            "point": p, "train_tasks": tasks,
            "heldout": method(held, "ad"), "train": ad_train,
            "heuristic": method(held, "heuristic"),
        })
    rows.sort(key=lambda r: r["train_tasks"])
    print("| training tasks | AD held-out, first 3 | AD held-out, last 10 | "
          "AD on its train goals, first 3 | AD on its train goals, last 10 | "
          "heuristic held-out, last 10 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        h, t = r["heldout"], r["train"]
        print(f"| {r['train_tasks']} | {h['early_fraction']:.0%} | "
              f"**{h['late_fraction']:.0%}** (± {h['late_seed_std']:.2f} "
              f"over seeds) | {t['early_fraction']:.0%} | "
              f"{t['late_fraction']:.0%} | "
              f"{r['heuristic']['late_fraction']:.0%} |")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("task_count_summary: matplotlib missing; no PNG",
              file=sys.stderr)
        return
    xs = [r["train_tasks"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(xs, [r["heldout"]["late_fraction"] for r in rows], "o-",
            label="AD, held-out goals")
    ax.plot(xs, [r["train"]["late_fraction"] for r in rows], "s--",
            label="AD, its train goals")
    ax.plot(xs, [r["heuristic"]["late_fraction"] for r in rows], ":",
            color="gray", label="heuristic, held-out")
    ax.set_xscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([str(x) for x in xs])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("training goals (Dark Room, A3C histories)")
    ax.set_ylabel("episodes 31-40, fraction of optimal")
    ax.set_title("Fig. 12: training tasks vs in-context return")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = os.path.join(out, "task_count.png")
    fig.savefig(png, dpi=100)
    print(f"task_count_summary: wrote {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
