"""The layers at a model's two ends, shared by every part: token inputs and the output layer.

Their names are part of the saved-file format (a loaded ``model.keras`` is taken apart by
layer name), so they are defined here once.
"""

from __future__ import annotations

import keras

from seq2seq.layers import OneHot, TimeDistributed

SOURCE_EMBEDDING = "source_embedding"
TARGET_EMBEDDING = "target_embedding"
OUTPUT_LAYER = "output"


def token_layer(vocab_size: int, embedding_dim: int | None, name: str) -> keras.layers.Layer:
    """A learned ``Embedding`` (``embedding_dim``) or one-hot inputs (``None``/0); both mask
    PAD."""
    if embedding_dim:
        return keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name=name)
    return OneHot(vocab_size, name=name)


def token_vocab_size(layer: keras.layers.Layer) -> int:
    """How many ids a :func:`token_layer` reads."""
    return int(getattr(layer, "input_dim", None) or layer.depth)


def output_layer(vocab_size: int) -> keras.layers.Layer:
    """``TimeDistributed(Dense(vocab, softmax))``, named ``output``."""
    return TimeDistributed(keras.layers.Dense(vocab_size, activation="softmax"), name=OUTPUT_LAYER)
