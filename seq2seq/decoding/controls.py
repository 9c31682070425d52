"""What the decode loop lets a user control besides the search rule, applied inside the
compiled loop for every rule:

* **a length limit per input**: ``max_length_ratio × source length + max_length_offset``
  tokens (capped by ``max_length``); a hypothesis that reaches its limit stops there, as one
  that reaches ``max_length`` does;
* **n-gram blocking** (``no_repeat_ngram_size`` = n): a token that would repeat an n-gram the
  hypothesis already holds is never chosen;
* **a forced prefix per input**: the first tokens of the output are given; the search
  continues from them, and scores cover the continuation only;
* **a repetition penalty** (``repetition_penalty`` = p): the log-probability of a token the
  hypothesis already emitted is multiplied by p (p > 1 lowers it; CTRL, Keskar et al. 2019,
  on log-probabilities), and the scores add the penalised values.

The last two read the tokens each hypothesis emitted, which the loop then keeps in its state
(``history``, reordered with the beams); without them that buffer is empty and costs nothing.
Every control reaches the graph as a tensor, so new values never retrace it, as every
parameter of a search rule does (:func:`param_dtypes`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import tensorflow as tf

from seq2seq.options.decoding import LoopControls
from seq2seq.registry import number_kinds
from seq2seq.vocab import PAD_ID

NEG_INF = -1e9
#: The controls' tensors in the compiled functions' signatures, after ``max_length``.
CONTROL_SPECS = (
    tf.TensorSpec([None, None], tf.int32, name="prefix"),  # [batch, tokens], PAD-padded
    tf.TensorSpec([], tf.float32, name="max_length_ratio"),  # 0: no per-input limit
    tf.TensorSpec([], tf.int32, name="max_length_offset"),
    tf.TensorSpec([], tf.int32, name="no_repeat_ngram_size"),  # 0: off
    tf.TensorSpec([], tf.float32, name="repetition_penalty"),  # 1: off
)


#: The tensor dtype of a rule parameter of each Python type (``int | None``: an int).
_DTYPES = {int: tf.int32, float: tf.float32}


def param_dtypes(params: type) -> dict[str, tf.DType]:
    """Each field of a ``Params`` record and its tensor dtype (every parameter is a number;
    :func:`~seq2seq.registry.number_kinds` reads the annotations, strings or types)."""
    kinds = number_kinds(params)
    return {f.name: _DTYPES[kinds[f.name]] for f in dataclasses.fields(params)}


def as_dtype(value: Any, dtype: tf.DType) -> Any:
    """``value`` for a tensor of ``dtype``: a whole number past int32's range (a seed up to
    ``2**32 - 1``) keeps its 32 bits, as a two's-complement int32."""
    if dtype == tf.int32 and isinstance(value, int) and not -(2**31) <= value < 2**31:
        return (value + 2**31) % 2**32 - 2**31
    return value


class Controls(NamedTuple):
    """The controls as the loop's tensors (see the module doc)."""

    prefix: tf.Tensor
    ratio: tf.Tensor
    offset: tf.Tensor
    ngram: tf.Tensor
    penalty: tf.Tensor


def control_scalars(record: LoopControls | None) -> list[tf.Tensor]:
    """A :class:`LoopControls` record (None: all off) as the loop's scalar tensors, in
    :data:`CONTROL_SPECS`' order after the prefixes."""
    record = record or LoopControls()
    values = (record.max_length_ratio or 0.0, record.max_length_offset,
              record.no_repeat_ngram_size, record.repetition_penalty)  # fmt: skip
    return [tf.constant(v, spec.dtype) for v, spec in zip(values, CONTROL_SPECS[1:], strict=True)]


def no_prefix(source: Any) -> tf.Tensor:
    """The forced prefixes of a batch that has none: ``[batch, 0]``."""
    return tf.zeros(tf.stack([tf.shape(source)[0], 0]), tf.int32)


def row_limits(source: tf.Tensor, max_length: tf.Tensor, controls: Controls, width: Any):
    """Each hypothesis's most tokens, ``[batch, width]``: ``ceil(ratio × source tokens) +
    offset`` (at least 1, at most ``max_length``), or ``max_length`` when ``ratio`` is 0."""
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(source, PAD_ID), tf.float32), axis=1)
    scaled = tf.cast(tf.math.ceil(controls.ratio * lengths), tf.int32) + controls.offset
    limit = tf.clip_by_value(scaled, 1, max_length)
    limit = tf.where(controls.ratio > 0, limit, max_length)
    return tf.tile(tf.expand_dims(limit, 1), tf.stack([1, width]))


def history_length(max_length: tf.Tensor, controls: Controls) -> tf.Tensor:
    """How many emitted tokens the loop keeps per hypothesis: all of them when a control reads
    them, else none."""
    reads = tf.logical_or(controls.ngram > 0, tf.not_equal(controls.penalty, 1.0))
    return tf.where(reads, max_length, 0)


def _token_mask(marks: tf.Tensor, tokens: tf.Tensor, vocab: tf.Tensor) -> tf.Tensor:
    """``[batch, width, vocab]``: True at each token that ``marks`` ``[batch, width, L]``
    flags among ``tokens`` ``[batch, width, L]``."""
    batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
    rows = tf.reshape(tf.range(batch * width), [batch, width, 1])
    flat = tf.reshape(rows * vocab + tokens, [-1])
    hits = tf.math.unsorted_segment_max(
        tf.reshape(tf.cast(marks, tf.float32), [-1]), flat, batch * width * vocab
    )
    return tf.reshape(hits > 0.5, [batch, width, vocab])


def seen_tokens(history: tf.Tensor, t: tf.Tensor, vocab: tf.Tensor) -> tf.Tensor:
    """``[batch, width, vocab]``: the tokens each hypothesis emitted before step ``t``."""
    emitted = tf.range(tf.shape(history)[2]) < t
    return _token_mask(tf.broadcast_to(emitted, tf.shape(history)), history, vocab)


def blocked_tokens(history: tf.Tensor, t: tf.Tensor, n: tf.Tensor, vocab: tf.Tensor):
    """``[batch, width, vocab]``: the tokens that, emitted at step ``t``, would repeat an
    ``n``-gram the hypothesis already holds (its last ``n - 1`` tokens seen before, followed
    by that token)."""
    length = tf.shape(history)[2]
    starts, offsets = tf.range(length), tf.range(tf.maximum(n - 1, 0))  # (XLA: both branches)
    at = tf.minimum(tf.expand_dims(starts, 1) + offsets, length - 1)  # [L, n - 1]
    windows = tf.gather(history, at, axis=2)
    last = tf.gather(history, tf.maximum(t - n + 1 + offsets, 0), axis=2)
    same = tf.reduce_all(tf.equal(windows, tf.expand_dims(last, 2)), axis=-1)  # [batch, width, L]
    same = tf.logical_and(same, tf.reshape(starts <= t - n, [1, 1, -1]))
    followers = tf.gather(history, tf.minimum(starts + n - 1, length - 1), axis=2)
    return _token_mask(same, followers, vocab)


def padded_prefix(prefix: tf.Tensor) -> tf.Tensor:
    """The prefixes with one more PAD column (so a step past every prefix reads PAD)."""
    return tf.pad(prefix, [[0, 0], [0, 1]], constant_values=PAD_ID)


def force_prefix(log_probs: tf.Tensor, prefix: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
    """``log_probs`` ``[batch, width, vocab]`` where a sequence's forced prefix (``prefix``,
    from :func:`padded_prefix`) still has a token at step ``t``: that token only, at no cost
    (the scores cover the continuation only)."""
    column = tf.minimum(t, tf.shape(prefix)[1] - 1)
    forced = tf.gather(prefix, column, axis=1)  # [batch]
    only = tf.one_hot(forced, tf.shape(log_probs)[-1], on_value=0.0, off_value=NEG_INF)
    forcing = tf.reshape(tf.not_equal(forced, PAD_ID), [-1, 1, 1])
    return tf.where(forcing, tf.expand_dims(only, 1), log_probs)


def apply_controls(log_probs: tf.Tensor, history: tf.Tensor, t: tf.Tensor, controls: Controls):
    """``log_probs`` ``[batch, width, vocab]`` with the repetition penalty and the n-gram
    block applied (each only when on)."""
    vocab = tf.shape(log_probs)[-1]

    def penalised():
        return tf.where(seen_tokens(history, t, vocab), log_probs * controls.penalty, log_probs)

    log_probs = tf.cond(tf.not_equal(controls.penalty, 1.0), penalised, lambda: log_probs)

    def blocked():
        return tf.where(blocked_tokens(history, t, controls.ngram, vocab), NEG_INF, log_probs)

    return tf.cond(controls.ngram > 0, blocked, lambda: log_probs)
