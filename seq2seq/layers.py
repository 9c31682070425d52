"""Custom Keras layers, registered for ``safe_mode`` loading under the ``seq2seq`` package."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from seq2seq.vocab import PAD_ID


@keras.saving.register_keras_serializable(package="seq2seq")
class OneHot(keras.layers.Layer):
    """One-hot encodes int ids in the model; masks ``PAD_ID`` like ``Embedding(mask_zero=True)``.

    Keeps datasets as small int32 tensors: the one-hot expansion happens per batch.
    """

    def __init__(self, depth: int, mask_zero: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.depth = int(depth)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = True

    def call(self, inputs):
        return ops.one_hot(ops.cast(inputs, "int32"), self.depth, dtype=self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, PAD_ID)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.depth)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "depth": self.depth, "mask_zero": self.mask_zero}


@keras.saving.register_keras_serializable(package="seq2seq")
class TimeDistributed(keras.layers.TimeDistributed):
    """``keras.layers.TimeDistributed`` that applies its layer by merging batch and time axes.

    Same contract and config as the Keras layer. Keras 3's own implementation, when the time
    axis is dynamic (``None``, as for variable-length batches), maps over
    ``arange(batch_size)`` instead of ``arange(time)`` and fails whenever a batch has more
    sequences than time steps (seen with Keras 3.15). Reshaping ``[batch, time, ...]`` to
    ``[batch * time, ...]`` is also faster than a per-step map.
    """

    def call(self, inputs, training=None, mask=None):
        shape = ops.shape(inputs)
        flat = ops.reshape(inputs, (-1, *inputs.shape[2:]))
        kwargs: dict[str, Any] = {}
        if self.layer._call_has_mask_arg and mask is not None:
            kwargs["mask"] = ops.reshape(mask, (-1,))
        if self.layer._call_has_training_arg:
            kwargs["training"] = training
        outputs = self.layer.call(flat, **kwargs)
        return ops.reshape(outputs, (shape[0], shape[1], *outputs.shape[1:]))


@keras.saving.register_keras_serializable(package="seq2seq")
class InputFeedingDecoder(keras.layers.Layer):
    """A stacked recurrent decoder with attention and Luong's *input feeding*.

    At every step the bottom cell reads ``[x_t; a_{t-1}]``, the character embedding and the
    previous attentional vector; the top cell's output ``h_t`` attends over the encoder's
    sequence (``memory``, padding masked) and ``a_t = tanh(W [context_t; h_t])`` goes both to
    the output layer and into the next step. Keras 3's ``RNN`` layer takes no ``constants``
    (the memory), so the loop is ``keras.ops.scan`` over time.

    ``call`` returns ``(a [batch, time, units], states, scores [batch, time, source])`` where
    ``states`` is every cell's final states, then the last attentional vector. Its
    ``initial_state`` is either that full list or the states of the top cells only (the
    encoder's, top-aligned): the bottom cells and the attentional vector then start at
    zero. The padding mask comes from the ``source`` ids. The cells have no dropout of
    their own (a cell's cached dropout mask cannot live inside the scan).
    """

    def __init__(
        self,
        units: int,
        cell: str = "lstm",
        layers: int = 1,
        attention: str = "luong",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.cell_type, self.num_layers = int(units), str(cell), int(layers)
        self.attention_type = str(attention)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        cell_class = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}[self.cell_type]
        self.cells = [cell_class(self.units, name=f"cell_{i + 1}") for i in range(self.num_layers)]
        score = {"luong": keras.layers.Attention, "bahdanau": keras.layers.AdditiveAttention}
        self.attention = score[self.attention_type](name="attention")
        self.combine = keras.layers.Dense(self.units, activation="tanh", name="attention_combine")
        self.supports_masking = True

    @property
    def states_per_cell(self) -> int:
        return 2 if self.cell_type == "lstm" else 1

    def build(self, input_shape) -> None:
        width = input_shape[-1] + self.units
        for cell in self.cells:
            cell.build((None, width))
            width = self.units
        # The memory is as wide as the decoder (a bidirectional encoder's concatenated halves).
        self.attention.build([(None, 1, self.units), (None, None, self.units)])
        self.combine.build((None, 2 * self.units))
        self.built = True

    def full_states(self, given: list, batch) -> list:
        """``given`` completed with zeros: the bottom cells' states and the attentional
        vector, when only the top cells' states are given."""
        need = self.num_layers * self.states_per_cell + 1
        if len(given) == need:
            return list(given)
        zeros = ops.zeros((batch, self.units), dtype=self.compute_dtype)
        return [zeros] * (need - 1 - len(given)) + list(given) + [zeros]

    def step(self, x, states, memory, memory_mask, training=None):
        """One time step: ``x [batch, features]`` and the flat ``states`` (every cell's, then
        the attentional vector) -> ``(a, new states, scores [batch, source])``."""
        per = self.states_per_cell
        feed, new_states = states[-1], []
        inputs = ops.concatenate([x, feed], axis=-1)
        for i, cell in enumerate(self.cells):
            cell_states = list(states[i * per : (i + 1) * per])
            inputs, cell_states = cell(inputs, cell_states, training=training)
            new_states += cell_states if isinstance(cell_states, (list, tuple)) else [cell_states]
        context, scores = self.attention(
            [inputs[:, None, :], memory],
            mask=[None, memory_mask],
            return_attention_scores=True,
            training=training,
        )
        attentional = self.combine(ops.concatenate([context[:, 0, :], inputs], axis=-1))
        return attentional, [*new_states, attentional], scores[:, 0, :]

    def call(self, inputs, initial_state, memory, source, training=None):
        memory_mask = ops.not_equal(source, PAD_ID)
        states = self.full_states(list(initial_state), ops.shape(inputs)[0])

        def body(carry, x):
            _, new_states, scores = self.step(x, carry[0], memory, memory_mask, training)
            return new_states, scores

        # tf.scan keeps every step's carry: the states (the attentional vector is the last)
        # and the attention scores. (keras.ops.scan needs outputs shaped like the carry.)
        no_scores = ops.zeros_like(ops.cast(memory_mask, self.compute_dtype))
        steps, scores = tf.scan(
            body, ops.transpose(inputs, (1, 0, 2)), initializer=(states, no_scores)
        )
        final = [s[-1] for s in steps]
        return (
            ops.transpose(steps[-1], (1, 0, 2)),
            final,
            ops.transpose(scores, (1, 0, 2)),
        )

    def compute_mask(self, inputs, mask=None, **kwargs):
        states = self.num_layers * self.states_per_cell + 1
        return [mask, [None] * states, None]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "cell": self.cell_type,
            "layers": self.num_layers,
            "attention": self.attention_type,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }
