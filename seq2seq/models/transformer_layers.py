"""The Transformer's Keras layers (Vaswani et al. 2017, pre-norm as in most current
implementations): positions, multi-head attention that can attend from a cache, and the
encoder and decoder stacks.

Written on plain Keras layers rather than keras-hub's ``TransformerEncoder`` /
``TransformerDecoder``: the decoder here must expose one incremental step over a cache held
in the decode loop's opaque state (preallocated to the decoding length, written at the step
index), and the saved ``model.keras`` must load with ``safe_mode=True`` from this package
alone. Every sublayer is built with fixed shapes in ``build`` so that a loaded model gets its
variables before its weights.

Shapes: ``B`` batch, ``S`` source steps, ``T`` target steps, ``L`` cache capacity, ``H``
heads, ``D`` head width (``units / heads``).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

PAD_ID = 0
NEG_INF = -1e9


def sinusoid(positions: Any, units: int, dtype: str) -> Any:
    """Sinusoidal position encodings ``[..., units]`` of float ``positions`` (no weights, any
    length)."""
    half = units // 2
    rates = ops.exp(ops.arange(half, dtype="float32") * (-math.log(10000.0) / max(half, 1)))
    angles = ops.expand_dims(ops.cast(positions, "float32"), -1) * rates
    return ops.cast(ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1), dtype)


@keras.saving.register_keras_serializable(package="seq2seq")
class TokenPositions(keras.layers.Layer):
    """Token embedding scaled by ``sqrt(units)`` plus sinusoidal positions, then dropout."""

    def __init__(self, vocab_size: int, units: int, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vocab_size, self.units, self.rate = int(vocab_size), int(units), float(dropout)
        self.embedding = keras.layers.Embedding(self.vocab_size, self.units, name="embedding")
        self.dropout = keras.layers.Dropout(self.rate)

    def build(self, input_shape=None) -> None:
        self.embedding.build((None, None))
        self.built = True

    def call(self, ids, offset=None, training=None):
        """``[B, T]`` ids -> ``[B, T, units]``, positions from ``offset`` (``[B]``; 0)."""
        x = self.embedding(ids) * ops.cast(math.sqrt(self.units), self.compute_dtype)
        positions = ops.arange(ops.shape(ids)[1], dtype="int32")[None, :]
        if offset is not None:
            positions = positions + ops.expand_dims(ops.cast(offset, "int32"), -1)
        x = x + sinusoid(positions, self.units, self.compute_dtype)
        return self.dropout(x, training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "units": self.units,
                "dropout": self.rate}  # fmt: skip


@keras.saving.register_keras_serializable(package="seq2seq")
class HeadsAttention(keras.layers.Layer):
    """Multi-head scaled dot-product attention whose keys and values can be computed once
    (:meth:`keys_values`) and attended to later (:meth:`attend`): a decoder's cache."""

    def __init__(self, units: int, heads: int, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.heads, self.rate = int(units), int(heads), float(dropout)
        self.head_units = self.units // self.heads
        self.query = keras.layers.Dense(self.units, name="query")
        self.key = keras.layers.Dense(self.units, name="key")
        self.value = keras.layers.Dense(self.units, name="value")
        self.merge = keras.layers.Dense(self.units, name="merge")
        self.dropout = keras.layers.Dropout(self.rate)

    def build(self, input_shape=None) -> None:
        for layer in (self.query, self.key, self.value, self.merge):
            layer.build((None, None, self.units))
        self.built = True

    def split(self, x):
        """``[B, T, units]`` -> ``[B, T, H, D]``."""
        shape = ops.shape(x)
        return ops.reshape(x, (shape[0], shape[1], self.heads, self.head_units))

    def queries(self, x):
        """The ``[B, T, H, D]`` queries of ``x``."""
        return self.split(self.query(x))

    def keys_values(self, x) -> tuple[Any, Any]:
        """The ``[B, S, H, D]`` keys and values of ``x``."""
        return self.split(self.key(x)), self.split(self.value(x))

    def attend(self, q, k, v, mask, training=None, weights: bool = False):
        """``q`` attends to ``k``/``v`` where ``mask`` (``[B, T, S]`` bool) allows:
        ``[B, T, units]`` (and the ``[B, H, T, S]`` weights when asked)."""
        scores = ops.einsum("bthd,bshd->bhts", q, k)
        scores = ops.cast(scores, "float32") / math.sqrt(self.head_units)
        scores = ops.where(ops.expand_dims(mask, 1), scores, NEG_INF)
        probs = ops.softmax(scores, axis=-1)
        mixed = ops.einsum("bhts,bshd->bthd", self.dropout(ops.cast(probs, v.dtype),
                                                           training=training), v)  # fmt: skip
        shape = ops.shape(mixed)
        out = self.merge(ops.reshape(mixed, (shape[0], shape[1], self.units)))
        return (out, probs) if weights else out

    def call(self, x, memory, mask, training=None):
        return self.attend(self.queries(x), *self.keys_values(memory), mask, training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "heads": self.heads,
                "dropout": self.rate}  # fmt: skip


class _Block(keras.layers.Layer):
    """What both blocks share: the feed-forward sublayer, residual dropout and settings."""

    def __init__(self, units: int, heads: int, ff_units: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0, **kwargs) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.units, self.heads, self.ff_units = int(units), int(heads), int(ff_units)
        self.rate, self.attention_rate = float(dropout), float(attention_dropout)
        self.ff_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="ff_norm")
        self.ff_in = keras.layers.Dense(self.ff_units, activation="relu", name="ff_in")
        self.ff_out = keras.layers.Dense(self.units, name="ff_out")
        self.dropout = keras.layers.Dropout(self.rate)

    def attention(self, name: str) -> HeadsAttention:
        return HeadsAttention(self.units, self.heads, self.attention_rate, name=name)

    def build_feed_forward(self) -> None:
        self.ff_norm.build((None, None, self.units))
        self.ff_in.build((None, None, self.units))
        self.ff_out.build((None, None, self.ff_units))

    def feed_forward(self, x, training=None):
        h = self.ff_out(self.ff_in(self.ff_norm(x)))
        return x + self.dropout(h, training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "heads": self.heads,
                "ff_units": self.ff_units, "dropout": self.rate,
                "attention_dropout": self.attention_rate}  # fmt: skip


@keras.saving.register_keras_serializable(package="seq2seq")
class EncoderBlock(_Block):
    """Self-attention over the source (PAD keys masked), then feed-forward; pre-norm."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.self_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="self_norm")
        self.self_attention = self.attention("self_attention")

    def build(self, input_shape=None) -> None:
        self.self_norm.build((None, None, self.units))
        self.self_attention.build()
        self.build_feed_forward()
        self.built = True

    def call(self, x, mask, training=None, weights: bool = False):
        h = self.self_norm(x)
        attention = self.self_attention
        out, probs = attention.attend(attention.queries(h), *attention.keys_values(h), mask,
                                      training, weights=True)  # fmt: skip
        x = self.feed_forward(x + self.dropout(out, training=training), training=training)
        return (x, probs) if weights else x


@keras.saving.register_keras_serializable(package="seq2seq")
class DecoderBlock(_Block):
    """Causal self-attention, cross-attention over the encoder's memory, feed-forward."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.self_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="self_norm")
        self.self_attention = self.attention("self_attention")
        self.cross_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="cross_norm")
        self.cross_attention = self.attention("cross_attention")

    def build(self, input_shape=None) -> None:
        for norm in (self.self_norm, self.cross_norm):
            norm.build((None, None, self.units))
        self.self_attention.build()
        self.cross_attention.build()
        self.build_feed_forward()
        self.built = True

    def call(self, x, cross, self_mask, cross_mask, training=None, weights: bool = False):
        """Teacher forcing over ``[B, T, units]``; ``cross`` is the memory's keys/values."""
        h = self.self_norm(x)
        attention = self.self_attention
        out, self_probs = attention.attend(attention.queries(h), *attention.keys_values(h),
                                           self_mask, training, weights=True)  # fmt: skip
        x = x + self.dropout(out, training=training)
        q = self.cross_attention.queries(self.cross_norm(x))
        out, probs = self.cross_attention.attend(q, *cross, cross_mask, training, weights=True)
        x = self.feed_forward(x + self.dropout(out, training=training), training=training)
        return (x, (self_probs, probs)) if weights else x

    def step(self, x, cache: tuple[Any, Any], t, cross, cross_mask):
        """One position ``[B, 1, units]`` at step ``t`` (``[B]``): its key and value are
        written into the ``[B, L, H, D]`` cache at ``t``, and it attends to positions ``<= t``.
        Returns the output and the new cache."""
        h = self.self_norm(x)
        k, v = self.self_attention.keys_values(h)
        capacity = ops.shape(cache[0])[1]
        at = ops.one_hot(t, capacity, dtype=k.dtype)[:, :, None, None]  # [B, L, 1, 1]
        keys = cache[0] * (1 - at) + at * k
        values = cache[1] * (1 - at) + at * v
        seen = ops.arange(capacity)[None, None, :] <= ops.reshape(t, (-1, 1, 1))
        out = self.self_attention.attend(self.self_attention.queries(h), keys, values, seen)
        x = x + out
        q = self.cross_attention.queries(self.cross_norm(x))
        x = x + self.cross_attention.attend(q, *cross, cross_mask)
        return self.feed_forward(x), (keys, values)
