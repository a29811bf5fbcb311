#!/usr/bin/env python3
"""Plots an evaluator report: mean +/- std return per method, one subplot per panel.

Reads the report.json written by the C++ evaluator (evaluator/curves.h) and
writes a PNG. The optimal return is a dashed black line, the random return a
dotted grey line; x is episodes or environment steps (--x, default: the
report's own x_axis).

Usage: plot_curves.py REPORT_JSON OUT_PNG [--x episodes|env_steps]
"""
import argparse
import json
import math
import textwrap
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Fixed colours so a method looks the same in every figure.
COLOURS = {
    "ad": "#d62728",
    "ed": "#1f77b4",
    "source": "#2ca02c",
    "heuristic": "#ff7f0e",
    "random": "#7f7f7f",
    "optimal": "#000000",
}
FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79"]


def colour_for(method, used):
    base = method.split(" ")[0].split("(")[0]
    if base in COLOURS and base not in used:
        used.add(base)
        return COLOURS[base]
    for c in FALLBACK:
        if c not in used:
            used.add(c)
            return c
    return None


def finite(values):
    return [v if v is not None else math.nan for v in values]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("out")
    parser.add_argument("--x", choices=["episodes", "env_steps"], default=None)
    args = parser.parse_args(argv)

    with open(args.report) as f:
        report = json.load(f)
    x_axis = args.x or report.get("x_axis", "episodes")
    panels = report["panels"]
    n = max(1, len(panels))
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    width = max(7.5, 5.2 * cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width, 4.2 * rows),
                             squeeze=False)
    for i, panel in enumerate(panels):
        ax = axes[i // cols][i % cols]
        used = set()
        longest = 1
        for curve in panel["curves"]:
            if curve["method"] == "optimal" and panel.get("optimal") is not None:
                continue  # drawn as the dashed reference line below
            mean = finite(curve["mean"])
            std = finite(curve["std"])
            if not mean:
                continue
            if x_axis == "env_steps" and any(curve["env_steps"]):
                xs = finite(curve["env_steps"])
            else:
                xs = list(range(1, len(mean) + 1))
            longest = max(longest, xs[-1])
            lo = [m - s for m, s in zip(mean, std)]
            hi = [m + s for m, s in zip(mean, std)]
            colour = colour_for(curve["method"], used)
            label = "%s (n=%d)" % (curve["method"], curve["rows"])
            ax.plot(xs, mean, label=label, color=colour, linewidth=1.8)
            ax.fill_between(xs, lo, hi, color=colour, alpha=0.15, linewidth=0)
            reach = curve.get("episodes_to_80pct")
            if reach and reach <= len(xs):
                # Data efficiency: where this method first reaches 80% of
                # optimal (a marker on its curve).
                ax.plot([xs[reach - 1]], [mean[reach - 1]], marker="o",
                        markersize=6, color=colour, markeredgecolor="black")
                ax.annotate("80%% @ %d" % reach, (xs[reach - 1], mean[reach - 1]),
                            textcoords="offset points", xytext=(4, -12),
                            fontsize=7, color=colour)
        if panel.get("optimal") is not None:
            ax.axhline(panel["optimal"], color="black", linestyle="--",
                       linewidth=1.2, label="optimal")
        if panel.get("random") is not None:
            ax.axhline(panel["random"], color="#7f7f7f", linestyle=":",
                       linewidth=1.2, label="random (expected)")
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel("episode" if x_axis == "episodes" else "environment steps")
        ax.set_ylabel("return per episode")
        ax.set_xlim(left=0, right=longest)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for j in range(len(panels), rows * cols):
        axes[j // cols][j % cols].axis("off")
    title = report.get("title") or report.get("experiment", "")
    fig.suptitle(textwrap.fill(title, 110), fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
