"""Pictures of what a model does: attention alignments and recurrent states.

Rendered with matplotlib's Agg backend (no display needed) into RGB arrays, for TensorBoard
images, or PNG files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

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


def attention_grid_figure(
    panels: Sequence[tuple[str, np.ndarray, Sequence[str], Sequence[str]]], columns: int = 3
):
    """Several attention maps side by side: each panel ``(title, weights [rows, cols], row
    labels, column labels)``, ``columns`` to a row (a Transformer: encoder self-attention,
    decoder self-attention, cross-attention per block)."""
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (title, weights, ys, xs) in zip(axes.flat, panels, strict=False):
        ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(weights.shape[1]), [_label(c) for c in xs[: weights.shape[1]]])
        ax.set_yticks(range(weights.shape[0]), [_label(c) for c in ys[: weights.shape[0]]])
        ax.tick_params(labelsize=7)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


class StatesPanel(NamedTuple):
    """One recurrent layer as :func:`states_figure` draws it.

    Attributes:
        title: e.g. ``encoder lstm (LSTM)``.
        sequence: the ``return_sequences`` output ``[time, units]``.
        step_labels: what the layer read at each step (characters, ``PAD``, ``<s>``).
        states: the ``return_state`` tensors by name (``h``, ``c`` ...), each ``[units]``.
        real_steps: how many leading steps are real input (the rest are PAD).
    """

    title: str
    sequence: np.ndarray
    step_labels: Sequence[str]
    states: dict[str, np.ndarray]
    real_steps: int


def states_figure(panels: Sequence[StatesPanel]):
    """One row per recurrent layer: a heat map of its ``return_sequences`` output (units
    down, the steps it read across) and, beside it, one column per ``return_state`` tensor,
    on the same colour scale, so that the final ``h`` is seen to be the output at the last
    real step (and ``c`` the cell state the output never shows)."""
    widths = [max(6.0, 0.3 * len(p.step_labels)) for p in panels]
    fig = plt.figure(figsize=(max(widths) + 1.2 * max(len(p.states) for p in panels) + 1.5,
                              2.8 * len(panels)), layout="constrained")  # fmt: skip
    rows = fig.subfigures(len(panels), 1, squeeze=False)[:, 0]
    for row, panel in zip(rows, panels, strict=True):
        _states_row(row, panel)
    return fig


def _states_row(fig, panel: StatesPanel) -> None:
    """One layer's row of :func:`states_figure`."""
    steps, units = panel.sequence.shape
    grid = fig.subplots(1, 1 + len(panel.states), squeeze=False,
                        width_ratios=[max(steps, 4), *[1.2] * len(panel.states)])[0]  # fmt: skip
    outputs = [panel.sequence, *(v for n, v in panel.states.items() if not _is_cell(n))]
    image = _heat(grid[0], panel.sequence.T, outputs)
    grid[0].set_xticks(range(steps), [_label(c) for c in panel.step_labels])
    grid[0].set_xlabel("step (the token read)")
    grid[0].set_ylabel(f"unit (of {units})")
    grid[0].set_title(f"{panel.title}: return_sequences output", fontsize=9)
    if panel.real_steps < steps:
        grid[0].axvline(panel.real_steps - 0.5, color="black", linewidth=1, linestyle="--")
    cells = None
    for ax, (name, values) in zip(grid[1:], panel.states.items(), strict=True):
        column = np.asarray(values).reshape(-1, 1)
        shown = _heat(ax, column, [column] if _is_cell(name) else outputs)
        cells = shown if _is_cell(name) else cells
        ax.set_xticks([0], ["final"])
        ax.set_yticks([])
        ax.set_title(f"state {name}", fontsize=9)
    for ax in grid:
        ax.tick_params(labelsize=7)
    fig.colorbar(image, ax=list(grid), shrink=0.8, label="output and h")
    if cells is not None:  # c is not squashed by tanh: a scale of its own
        fig.colorbar(cells, ax=list(grid), shrink=0.8, label="cell state c")


def _is_cell(name: str) -> bool:
    """An LSTM's cell state (``c``, ``c_backward``), unbounded unlike its outputs."""
    return name.split("_")[0] == "c"


def _heat(ax, values: np.ndarray, scale_of: Sequence[np.ndarray]):
    """``values`` as a heat map whose diverging colour scale is symmetric about 0 and wide
    enough for every array of ``scale_of``."""
    scale = float(max(max(np.abs(a).max() for a in scale_of), 1e-6))
    return ax.imshow(values, cmap="RdBu_r", vmin=-scale, vmax=scale, aspect="auto",
                     interpolation="nearest")  # fmt: skip


def figure_to_array(fig) -> np.ndarray:
    """The figure as an ``[height, width, 3]`` uint8 RGB array (and closes it)."""
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return image


def save_png(fig, path: str | Path) -> Path:
    """Writes the figure as a PNG (atomically) and closes it."""
    from seq2seq.files import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))
