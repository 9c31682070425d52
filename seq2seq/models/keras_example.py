"""The Keras example's model's fast path: its encoder and decoder step with the LSTM cell's
arithmetic written out (``implementation=2``, the Keras default), for the compiled loop.

They compute what the oracle Keras models compute (``tests/test_families.py`` checks it to
float tolerance, ``tests/test_legacy_run.py`` byte for byte on a saved run), but

* apply the cell directly instead of running the LSTM layer's sequence loop;
* for one-hot inputs pick the kernel row a token selects instead of multiplying by a
  one-hot vector (the same numbers: every other term is an exact zero);
* skip the recurrent product at the encoder's first step (the state is zero there) and stop
  after the batch's last real step instead of running through trailing padding.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from seq2seq.layers import OneHot
from seq2seq.models.encoders.recurrent import layer_names
from seq2seq.models.io import OUTPUT_LAYER, SOURCE_EMBEDDING, TARGET_EMBEDDING
from seq2seq.vocab import PAD_ID

#: The Keras example's named layers: source_embedding -> encoder_lstm --[h, c]-->
#: decoder_lstm (over target_embedding) -> output.
(ENCODER_LSTM,) = layer_names("encoder", "lstm", 1, keras_example=True)
(DECODER_LSTM,) = layer_names("decoder", "lstm", 1, keras_example=True)
__all__ = [
    "DECODER_LSTM",
    "ENCODER_LSTM",
    "OUTPUT_LAYER",
    "SOURCE_EMBEDDING",
    "TARGET_EMBEDDING",
    "encode",
    "step",
]


def _input_projection(embed: keras.layers.Layer, cell, tokens):
    """``embed(tokens) @ cell.kernel``; for one-hot inputs, the kernel rows the ids select."""
    if isinstance(embed, OneHot):
        return ops.take(cell.kernel, ops.cast(tokens, "int32"), axis=0)
    return ops.matmul(embed.call(tokens), cell.kernel)  # .call: no mask attached


def _lstm_cell(cell, projected, h, c):
    """One step of a Keras ``LSTMCell`` (``implementation=2``, no dropout), from the
    already-projected input ``x @ kernel``, in the cell's own order of operations.

    ``h=None`` stands for a zero state, whose recurrent product (all zeros) is skipped.
    """
    z = projected if h is None else ops.add(projected, ops.matmul(h, cell.recurrent_kernel))
    if cell.use_bias:
        z = ops.add(z, cell.bias)
    z0, z1, z2, z3 = ops.split(z, 4, axis=-1)
    i = cell.recurrent_activation(z0)
    f = cell.recurrent_activation(z1)
    c = f * c + i * cell.activation(z2)
    o = cell.recurrent_activation(z3)
    return o * cell.activation(c), c


def step(lstm, embed, output, tokens, state) -> tuple[Any, list]:
    """One decoder step: ``[batch]`` int32 tokens and ``[h, c]`` -> ``(probs, [h, c])``."""
    state_h, state_c = state
    cell = lstm.cell
    if cell.implementation == 2:
        h, c = _lstm_cell(cell, _input_projection(embed, cell, tokens), state_h, state_c)
    else:  # the per-gate variant (recurrent dropout): use the cell itself
        h, (h, c) = cell(embed.call(tokens), [state_h, state_c], training=False)
    return output.layer(h), [h, c]


#: The encoder's phases: each runs on the last half of the rows of the one before.
ENCODER_PHASES = 3


def encode(lstm, embed, oracle: keras.Model, source) -> list:
    """The encoder's final ``[h, c]`` for ``[batch, time]`` source ids (PAD = masked); the
    ``oracle`` encoder model where the fast path does not apply (recurrent dropout's cell
    variant, or inputs without a mask).

    It runs in :data:`ENCODER_PHASES` phases, each on the last half of the rows of the one
    before, from where that one stopped to the last real step of the rows it leaves. In a
    batch sorted by length (as ``Translator`` makes them), a few long sources no longer keep
    every row stepping; in any other order the first phase does all the steps. A row's own
    steps are the same either way.
    """
    cell = lstm.cell
    if cell.implementation != 2 or not getattr(embed, "mask_zero", False):
        return list(oracle(source, training=False))
    # Time-major ids, plus one trailing PAD step: every batch has a first step, even one
    # of empty rows.
    ids = ops.transpose(ops.pad(ops.convert_to_tensor(source, "int32"), ((0, 0), (0, 1))))
    present = ops.not_equal(ids, PAD_ID)  # [time, batch]
    mask = ops.expand_dims(present, 2)  # [time, batch, 1]
    positions = ops.arange(1, ops.shape(ids)[0] + 1, dtype="int32")
    ends = ops.max(ops.where(present, ops.expand_dims(positions, 1), 0), axis=0)  # [batch]
    zeros = ops.zeros((ops.shape(ids)[1], cell.units), dtype=cell.kernel.dtype)
    h, c = _lstm_cell(cell, _input_projection(embed, cell, ids[0]), None, zeros)
    h, c = ops.where(mask[0], h, zeros), ops.where(mask[0], c, zeros)
    batch, first, start, done = ops.shape(ids)[1], 0, 1, []  # phase on rows first..batch - 1
    for phase in range(1, ENCODER_PHASES + 1):
        if isinstance(batch, int) and first == batch:  # a static batch's rows are all done
            break
        leaves = batch - batch // 2**phase if phase < ENCODER_PHASES else batch
        end = ops.max(ends[:leaves])  # the rows before ``leaves`` end within this phase
        h, c = _encoder_steps(cell, embed, ids[:, first:], mask[:, first:], start, end, h, c)
        done.append((h[: leaves - first], c[: leaves - first]))
        h, c, first, start = (
            h[leaves - first :],
            c[leaves - first :],
            leaves,
            ops.maximum(start, end),
        )
    return [ops.concatenate([h for h, _ in done], 0), ops.concatenate([c for _, c in done], 0)]


def _encoder_steps(cell, embed, ids, mask, start, end, h, c):
    """Steps ``start .. end - 1`` of the encoder on ``ids`` ``[time, rows]``."""

    def body(t, h, c):
        new_h, new_c = _lstm_cell(cell, _input_projection(embed, cell, ids[t]), h, c)
        return t + 1, ops.where(mask[t], new_h, h), ops.where(mask[t], new_c, c)

    _, h, c = ops.while_loop(lambda t, h, c: t < end, body, (start, h, c))
    return h, c
