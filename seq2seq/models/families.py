"""The registered families (``model.name``): compositions of parts with a fixed cell.

* ``lstm``: LSTM layers, each with state ``[h, c]``. With the Keras example's options (one
  layer each side, recurrent encoder, direct bridge, no attention) it builds the example's
  own model, :class:`KerasExampleSeq2Seq`: the same composition under the example's layer
  names (Keras model ``seq2seq``), with a hand-written fast encoder and step.
* ``gru``: GRU layers, each with state ``h``.

A family built for other parts (``model.encoder=conv``, attention, stacks ...) is the
plain composition, Keras model ``seq2seq_<cell>``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from seq2seq.models import keras_example
from seq2seq.models.composed import ComposedSeq2Seq, Parts
from seq2seq.models.parts import PartSpec
from seq2seq.models.registry import FAMILIES
from seq2seq.options.model import ModelOptions
from seq2seq.registry import make_options


@FAMILIES.register("lstm")
class LSTMSeq2Seq(ComposedSeq2Seq):
    """LSTM layers; with the Keras example's options, :class:`KerasExampleSeq2Seq`."""

    cell = "lstm"
    keras_name = "seq2seq_lstm"
    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {
        "keras-example-one-hot": {"embedding_dim": None},
        "keras-example-recurrent-dropout": {"recurrent_dropout": 0.1},
    }

    @classmethod
    def keras_names(cls) -> tuple[str, ...]:
        return (cls.keras_name, KerasExampleSeq2Seq.keras_name)

    @classmethod
    def build(cls, source_vocab_size: int, target_vocab_size: int, **options: Any):
        opts = make_options(ModelOptions, "model", options)
        example = opts.is_keras_example(cls.cell)
        spec = PartSpec(opts, cls.cell, source_vocab_size, target_vocab_size, example)
        return (KerasExampleSeq2Seq if example else LSTMSeq2Seq).build_spec(spec)

    @classmethod
    def from_training_model(cls, training: keras.Model) -> ComposedSeq2Seq:
        if training.name == KerasExampleSeq2Seq.keras_name:
            return KerasExampleSeq2Seq(training, Parts.find(training))
        return LSTMSeq2Seq(training, Parts.find(training))


class KerasExampleSeq2Seq(LSTMSeq2Seq):
    """The Keras example's model: ``encoder_lstm``'s final ``[h, c]`` is the initial state
    of ``decoder_lstm``, then ``output``; the decode-loop state is ``[h, c]``.

    Its ``encode`` and ``step`` compute what the oracle models compute, with the LSTM
    cell's arithmetic written out (:mod:`seq2seq.models.keras_example`).
    """

    keras_name = "seq2seq"

    def encode(self, source):
        return keras_example.encode(
            self.parts.encoder.layers[0], self.parts.encoder.embedding, self.encoder, source
        )

    def step(self, tokens, state):
        decoder = self.parts.decoder
        return keras_example.step(
            decoder.layers[0], decoder.embedding, decoder.output, tokens, state
        )


@FAMILIES.register("gru")
class GRUSeq2Seq(ComposedSeq2Seq):
    """GRU layers: each layer's state is its one ``h``."""

    cell = "gru"
    keras_name = "seq2seq_gru"
