"""The convolutional encoder (``model.encoder=conv``): a non-recurrent part, to show that a
family composes from parts.

``source_embedding -> encoder_conv_1 .. encoder_conv_E -> encoder_conv_summary``: each block
is a ``same``-padded ``Conv1D(units, kernel_size)`` with ReLU (and a residual connection
once the width is ``units``); the summary is the mean of the top block's outputs over the
real steps, the one final state a bridge hands to the decoder (``model.bridge=dense`` turns
it into an LSTM's ``[h, c]``). With attention the decoder reads the top block's outputs.

Right padding must not change the output (the model contract): a ``same`` convolution
reads ``kernel_size // 2`` steps past each sentence's end, so every block zeroes the PAD
steps of its input first. Then a sentence's last steps see zeros, whether the batch pads it
or the convolution's own padding does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
from keras import ops

from seq2seq.errors import Seq2SeqError
from seq2seq.models.encoders.base import Encoder
from seq2seq.models.io import SOURCE_EMBEDDING, token_layer
from seq2seq.models.parts import Encoded, PartSpec
from seq2seq.models.registry import ENCODERS
from seq2seq.vocab import PAD_ID

SUMMARY = "encoder_conv_summary"


def _real_steps(source: Any, dtype: str) -> Any:
    """``[batch, time, 1]``: 1 at real steps, 0 at PAD."""
    return ops.cast(ops.not_equal(source, PAD_ID), dtype)[:, :, None]


@keras.saving.register_keras_serializable(package="seq2seq")
class ConvBlock(keras.layers.Layer):
    """``relu(Conv1D(x))`` (``+ x`` when widths match) over the real steps of ``source``:
    PAD steps are zero in its input and in its output."""

    def __init__(self, filters: int, kernel_size: int, dropout: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.dropout = int(filters), int(kernel_size), dropout
        self.conv = keras.layers.Conv1D(self.filters, self.kernel_size, padding="same", name="conv")
        self.drop = keras.layers.Dropout(self.dropout, name="dropout")
        self.supports_masking = True  # the source's padding mask passes on to the memory

    def build(self, input_shape) -> None:
        self.conv.build(input_shape)
        self.residual = input_shape[-1] == self.filters
        self.built = True

    def masked_input(self, inputs: Any, source: Any) -> Any:
        """The input with its PAD steps zeroed (what the convolution may see)."""
        return inputs * _real_steps(source, self.compute_dtype)

    def call(self, inputs, source, training=None):
        x = self.masked_input(inputs, source)
        y = self.drop(ops.relu(self.conv(x)), training=training)
        if self.residual:
            y = y + x
        return y * _real_steps(source, self.compute_dtype)

    def compute_output_shape(self, inputs_shape, source_shape):
        return (*inputs_shape[:-1], self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="seq2seq")
class MaskedMean(keras.layers.Layer):
    """The mean of ``[batch, time, width]`` over the real steps of ``source``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True  # it reads the padding from ``source`` ...

    def compute_mask(self, inputs, mask=None, **kwargs):
        return None  # ... and its output has no time axis to mask

    def call(self, inputs, source):
        keep = _real_steps(source, self.compute_dtype)
        total = ops.sum(inputs * keep, axis=1)
        return total / ops.maximum(ops.sum(keep, axis=1), 1.0)

    def compute_output_shape(self, inputs_shape, source_shape):
        return (inputs_shape[0], inputs_shape[-1])


@ENCODERS.register("conv")
class ConvEncoder(Encoder):
    """Convolution blocks over the embedded source; one summary state."""

    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {
        "conv": {"encoder": "conv", "bridge": "dense", "encoder_layers": 2},
        "conv-luong": {"encoder": "conv", "bridge": "dense", "attention": "luong"},
    }

    def __init__(self, embedding: keras.layers.Layer, blocks: list, summary: MaskedMean) -> None:
        self.embedding, self.blocks, self.summary = embedding, blocks, summary

    @classmethod
    def create(cls, spec: PartSpec) -> ConvEncoder:
        opts = spec.options
        if opts.bidirectional:
            raise Seq2SeqError("model.bidirectional=true needs model.encoder=recurrent")
        blocks = [
            ConvBlock(opts.units, opts.kernel_size, opts.dropout, name=f"encoder_conv_{i + 1}")
            for i in range(opts.encoder_layers)
        ]
        embedding = token_layer(spec.source_vocab_size, opts.embedding_dim, SOURCE_EMBEDDING)
        return cls(embedding, blocks, MaskedMean(name=SUMMARY))

    @classmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> ConvEncoder | None:
        if "encoder_conv_1" not in by_name:
            return None
        blocks, i = [], 1
        while f"encoder_conv_{i}" in by_name:
            blocks.append(by_name[f"encoder_conv_{i}"])
            i += 1
        return cls(by_name[SOURCE_EMBEDDING], blocks, by_name[SUMMARY])

    def __call__(self, source: Any) -> Encoded:
        x = self.embedding(source)
        for block in self.blocks:
            x = block(x, source=source)
        return Encoded(memory=x, finals=[[self.summary(x, source=source)]])

    def state_widths(self) -> list[list[int]]:
        return [[self.memory_width]]

    @property
    def memory_width(self) -> int:
        return int(self.blocks[-1].filters)
