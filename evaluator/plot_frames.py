#!/usr/bin/env python3
"""Draws a grid of RGB frames (an environment's pixel observations) as one PNG.

Reads a NumPy uint8 array [rows, cols, height, width, 3] (written by
`adctl env frames`) and draws frame (r, c) in row r, column c, pixels
unsmoothed. --row_labels captions each row (left of its first frame),
--cell_labels each frame (row-major, above it).

Usage: plot_frames.py FRAMES_NPY OUT_PNG [--row_labels L...] [--cell_labels L...]
"""
import argparse
import sys

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames")
    parser.add_argument("out")
    parser.add_argument("--row_labels", nargs="*", default=[])
    parser.add_argument("--cell_labels", nargs="*", default=[])
    args = parser.parse_args(argv)

    frames = np.load(args.frames)
    if frames.dtype != np.uint8 or frames.ndim != 5 or frames.shape[-1] != 3:
        sys.exit(f"{args.frames}: want uint8 [rows, cols, height, width, 3], "
                 f"got {frames.dtype} {list(frames.shape)}")
    rows, cols, height, width, _ = frames.shape
    if args.row_labels and len(args.row_labels) != rows:
        sys.exit(f"{len(args.row_labels)} row labels for {rows} rows")
    if args.cell_labels and len(args.cell_labels) != rows * cols:
        sys.exit(f"{len(args.cell_labels)} cell labels for {rows * cols} frames")

    scale = 1.0 / 50  # inches per pixel
    fig, axes = plt.subplots(
        rows, cols, squeeze=False,
        figsize=(cols * width * scale + 0.6, rows * (height * scale + 0.3)))
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.imshow(frames[r, c], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if args.cell_labels:
                ax.set_title(args.cell_labels[r * cols + c], fontsize=7)
        if args.row_labels:
            axes[r][0].set_ylabel(args.row_labels[r], fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
