#!/usr/bin/env python3
"""Per-row view of an in-context evaluation: exploration vs exploitation.

Reads the returns.csv that `adctl eval incontext` (or ad-demo) writes and,
for one method (default: ad), counts the rows (task x seed) that never got
a reward within the evaluated episodes, the median first rewarded episode,
and the mean return over episodes 31-40 of the rows that found a reward by
episode 30. Usage: scripts/incontext_rows.py RETURNS.csv [--method ad]
"""
import argparse
import collections
import csv
import statistics
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("returns_csv")
    parser.add_argument("--method", default="ad")
    args = parser.parse_args()
    rows = collections.defaultdict(dict)
    with open(args.returns_csv, newline="") as f:
        for r in csv.DictReader(f):
            if r["method"] == args.method:
                rows[r["row"]][int(r["episode"])] = float(r["return"])
    if not rows:
        sys.exit(f"no rows of method '{args.method}' in {args.returns_csv}")
    never, firsts, late = 0, [], []
    for episodes in rows.values():
        first = next((e for e in sorted(episodes) if episodes[e] > 0), None)
        if first is None:
            never += 1
            continue
        firsts.append(first)
        tail = [episodes[e] for e in range(31, 41) if e in episodes]
        if first <= 30 and tail:
            late.append(sum(tail) / len(tail))
    print(f"{args.method}: {len(rows)} rows, {never} never rewarded; "
          f"median first rewarded episode "
          f"{statistics.median(firsts) if firsts else '-'}; "
          f"rows rewarded by episode 30: {len(late)}, their mean return "
          f"over episodes 31-40 "
          f"{(sum(late) / len(late)) if late else float('nan'):.2f}")


if __name__ == "__main__":
    main()
