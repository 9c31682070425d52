"""Compaction of a large greedy batch between the decode loop's chunks: the unfinished rows
are kept, padded to one of a few sizes, so that XLA compiles the loop for few shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf


def compact_size(n: int) -> int:
    """The batch size to compact ``n`` rows into: a power of 2 up to 64, then a multiple of
    64 (a small set of shapes, so XLA compiles the loop only a few times)."""
    if n <= 64:
        return 1 << (n - 1).bit_length()
    return -(-n // 64) * 64


def stop_alive(rows: int) -> int:
    """The most unfinished sequences at which a chunk of ``rows`` rows stops: the most that
    compact into at most three quarters of the rows."""
    most = rows * 3 // 4
    return most // 64 * 64 if most >= 64 else (1 << most.bit_length() - 1 if most else 0)


def compacted(state: Any, keep: np.ndarray) -> Any:
    """The loop state (a ``LoopState``) of the rows ``keep`` only, padded to
    :func:`compact_size` rows with copies of the first, marked finished."""
    size = compact_size(int(keep.size))
    index = np.concatenate([keep, np.full(size - keep.size, keep[0])])
    state = tf.nest.map_structure(lambda x: tf.gather(x, index), state)
    padding = tf.constant(np.arange(size) >= keep.size)[:, None]
    return state._replace(finished=tf.logical_or(state.finished, padding))
