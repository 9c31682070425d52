"""The Transformer's encoder as a part (``model.encoder=transformer``), for a recurrent
decoder to read: self-attention blocks over the source; the mean of the top block's outputs
over the real steps is the one final state a bridge hands on (``model.bridge=dense``), and
with attention the decoder reads every output (the memory, PAD masked).

The same layer as the ``transformer`` family's encoder (``transformer_encoder``), so a
Transformer encoder and an LSTM or GRU decoder with attention compose like any other parts.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from seq2seq.errors import Seq2SeqError
from seq2seq.models.encoders.base import Encoder
from seq2seq.models.encoders.conv import MaskedMean
from seq2seq.models.parts import Encoded, PartSpec
from seq2seq.models.registry import ENCODERS
from seq2seq.models.transformer import ENCODER_STACK, TransformerEncoder

SUMMARY = "encoder_transformer_summary"


@ENCODERS.register("transformer")
class TransformerEncoderPart(Encoder):
    """Transformer blocks over the source (``model.units``, ``model.heads``,
    ``model.ff_units``, ``model.encoder_layers``, ``model.dropout``); one summary state."""

    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {
        "transformer-encoder-luong": {"encoder": "transformer", "bridge": "dense",
                                      "attention": "luong", "encoder_layers": 2},
    }  # fmt: skip

    def __init__(self, stack: TransformerEncoder, summary: MaskedMean) -> None:
        self.stack, self.summary = stack, summary
        self.embedding = stack.embedding.embedding  # the source ids' Embedding

    @classmethod
    def create(cls, spec: PartSpec) -> TransformerEncoderPart:
        opts = spec.options
        if opts.bidirectional:
            raise Seq2SeqError("model.bidirectional=true needs model.encoder=recurrent")
        if opts.units % opts.heads or opts.units % 2:
            raise Seq2SeqError(
                f"model.encoder=transformer needs model.units={opts.units} even and a multiple"
                f" of model.heads={opts.heads}"
            )
        stack = TransformerEncoder(
            spec.source_vocab_size, opts.encoder_layers, units=opts.units, heads=opts.heads,
            ff_units=opts.ff_units, dropout=opts.dropout, attention_dropout=0.0,
            name=ENCODER_STACK,
        )  # fmt: skip
        return cls(stack, MaskedMean(name=SUMMARY))

    @classmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> TransformerEncoderPart | None:
        if SUMMARY not in by_name:
            return None
        return cls(by_name[ENCODER_STACK], by_name[SUMMARY])

    def __call__(self, source: Any) -> Encoded:
        memory = self.stack(source)
        return Encoded(memory=memory, finals=[[self.summary(memory, source=source)]])

    def state_widths(self) -> list[list[int]]:
        return [[self.memory_width]]

    @property
    def memory_width(self) -> int:
        return int(self.stack.config["units"])
