#!/usr/bin/env python3
"""Summarises an evaluator result directory (returns.csv + report.json).

  scripts/reproduce_summary.py RESULTS_DIR [--early N] [--late N] [--json OUT]

For every panel and method: the return over the first N episodes (--early,
default 3) and over the last N (--late, default 10) of every row (a row is
one task x one evaluation seed), as mean +- std over rows, the std of the
per-seed means (seeds pooled over tasks), and the mean as a fraction of the
panel's optimal return. Prints a Markdown table; --json writes the same
numbers. Reads only what the evaluator wrote; computes nothing it did not
measure.
"""
import argparse
import collections
import csv
import json
import math
import os
import sys


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def std(xs):
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--early", type=int, default=3)
    ap.add_argument("--late", type=int, default=10)
    ap.add_argument("--json")
    args = ap.parse_args()
    returns_csv = os.path.join(args.results, "returns.csv")
    report_json = os.path.join(args.results, "report.json")
    for path in (returns_csv, report_json):
        if not os.path.exists(path):
            sys.exit(f"reproduce_summary: {path} does not exist (did the "
                     "evaluator finish?)")
    with open(report_json) as f:
        report = json.load(f)
    optimal = {p["title"]: p.get("optimal") for p in report["panels"]}
    # (panel, method) -> row -> {episode: return}
    rows = collections.defaultdict(lambda: collections.defaultdict(dict))
    with open(returns_csv) as f:
        for r in csv.DictReader(f):
            rows[(r["panel"], r["method"])][r["row"]][int(r["episode"])] = \
                float(r["return"])
    out = {"experiment": report.get("experiment"), "env": report.get("env"),
           "early_episodes": args.early, "late_episodes": args.late,
           "methods": []}
    print(f"| panel | method | rows | episodes | first {args.early} "
          f"(mean ± std over rows) | last {args.late} | ± std over seeds | "
          f"last {args.late} / optimal |")
    print("|---|---|---|---|---|---|---|---|")
    for (panel, method), by_row in rows.items():
        n_ep = max(max(eps) for eps in by_row.values())
        early, late = [], []
        late_by_seed = collections.defaultdict(list)
        for row, eps in by_row.items():
            first = [eps[e] for e in range(1, args.early + 1) if e in eps]
            last = [eps[e] for e in range(n_ep - args.late + 1, n_ep + 1)
                    if e in eps]
            if first:
                early.append(mean(first))
            if last:
                late.append(mean(last))
                late_by_seed[row.rsplit("#seed=", 1)[-1]].append(mean(last))
        opt = optimal.get(panel)
        seed_means = [mean(v) for v in late_by_seed.values()]
        entry = {
            "panel": panel, "method": method, "rows": len(by_row),
            "episodes": n_ep, "early_mean": mean(early),
            "early_std": std(early), "late_mean": mean(late),
            "late_std": std(late), "late_seed_std": std(seed_means),
            "seeds": len(seed_means), "optimal": opt,
            "late_fraction": (mean(late) / opt) if opt else None,
            "early_fraction": (mean(early) / opt) if opt else None,
        }
        out["methods"].append(entry)
        frac = f"{entry['late_fraction']:.0%}" if opt else "-"
        print(f"| {panel} | {method} | {len(by_row)} | {n_ep} | "
              f"{entry['early_mean']:.3f} ± {entry['early_std']:.3f} | "
              f"{entry['late_mean']:.3f} ± {entry['late_std']:.3f} | "
              f"{entry['late_seed_std']:.3f} ({entry['seeds']} seeds) | "
              f"{frac} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
