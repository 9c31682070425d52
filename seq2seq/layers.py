"""Custom Keras layers, registered for ``safe_mode`` loading under the ``seq2seq`` package."""

from __future__ import annotations

from typing import Any

import keras
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
