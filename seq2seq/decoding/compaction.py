"""Large greedy batches decode in chunks; between chunks the batch is compacted to its
unfinished rows, padded to one of a few sizes (so that XLA compiles the loop for few
shapes). A chunk runs at least ``chunk_steps`` steps, then on until a quarter of its rows
have finished: from then on, compacting pays."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from seq2seq.vocab import PAD_ID


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


def decode_in_chunks(first: tuple, loop: Any, max_length: int, values: list):
    """Width-1 decoding of a batch in chunks of the compiled ``loop`` (``SearchRule.run``),
    compacting the batch to its unfinished sequences between them, from the ``first``
    chunk's ``(state, tokens, steps)`` (``SearchRule.begin``).

    Returns:
        ``(ids [batch, 1, steps], scores [batch, 1])`` numpy arrays, in the batch's order.
    """
    state, seqs, steps = first
    batch = int(state.tokens.shape[0])
    ids = np.full((batch, max_length), PAD_ID, np.int32)
    final = np.zeros(batch, np.float32)
    active = np.arange(batch)  # original row of each real slot
    rows, t = batch, 0  # the state's rows (real ones and padding), steps run
    while True:
        n, steps = len(active), int(steps)
        ids[active, t : t + steps] = seqs.numpy()[:n, 0, :steps]
        t += steps
        final[active] = state.scores.numpy()[:n, 0]
        keep = np.flatnonzero(~state.finished.numpy()[:n, 0])
        if keep.size == 0 or t >= max_length:
            return ids[:, None, :t], final[:, None]
        if compact_size(int(keep.size)) < rows:
            state, active = compacted(state, keep), active[keep]
            rows = int(state.tokens.shape[0])
        stop = tf.constant(stop_alive(rows))
        state, seqs, steps = loop(tf.constant(t), tf.constant(max_length - t), stop, state, *values)
