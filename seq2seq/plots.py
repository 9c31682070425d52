"""Pictures of what a model does: attention alignments and recurrent state trajectories.

Rendered with matplotlib's Agg backend (no display needed) into RGB arrays, for TensorBoard
images, or PNG files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

END_LABEL = "</s>"


def _label(ch: str) -> str:
    return "␣" if ch == " " else ch


def alignment_figure(
    source: Sequence[str], output: Sequence[str], weights: np.ndarray, title: str = ""
):
    """A heat map of ``weights`` ``[len(output) + 1, len(source)]``: output tokens (and END)
    down, source tokens across (a string: its characters), one labelled cell per pair."""
    rows, cols = weights.shape
    fig, ax = plt.subplots(figsize=(max(3.0, 0.28 * cols + 1.5), max(2.5, 0.28 * rows + 1.2)))
    ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(cols), [_label(c) for c in source[:cols]] + [""] * (cols - len(source)))
    ys = [_label(c) for c in output[: rows - 1]] + [END_LABEL]
    ax.set_yticks(range(rows), ys + [""] * (rows - len(ys)))
    ax.tick_params(labelsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def trajectory_figure(layers: Sequence[tuple[str, np.ndarray, Sequence[str]]]):
    """One panel per recurrent layer ``(name, output [time, units], step labels)``: its
    ``return_sequences`` output, one line per unit, over the characters it read."""
    fig, axes = plt.subplots(len(layers), 1, figsize=(8, 2.2 * len(layers)), squeeze=False)
    for ax, (name, values, labels) in zip(axes[:, 0], layers, strict=True):
        ax.plot(values, linewidth=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xticks(range(len(values)), [_label(c) for c in labels])
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def figure_to_array(fig) -> np.ndarray:
    """The figure as an ``[height, width, 3]`` uint8 RGB array (and closes it)."""
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return image


def save_png(fig, path: str | Path) -> Path:
    """Writes the figure as a PNG (atomically) and closes it."""
    from seq2seq.rundir import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))
