"""Families composed from parts: encoder + bridge + decoder + output layer.

:class:`ComposedSeq2Seq` builds the training model from the parts ``model.*`` names and
takes a loaded one apart by layer name. Its oracle models come from the same layers:

* ``encoder``: ``source`` -> the decoder's start state, flat (see the decoders);
* ``decoder_step``: ``[token, *state]`` -> ``[probs, *state]``.

Its compiled-loop ``encode`` and ``step`` call them. The registered families
(:mod:`seq2seq.models.families`) are compositions with a fixed recurrent cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from seq2seq.data.pipeline import SOURCE_KEY, TARGET_IN_KEY
from seq2seq.errors import Seq2SeqError
from seq2seq.models.base import AttentionMap, CapabilityError, RecurrentStack, Seq2SeqModel
from seq2seq.models.bridges import Bridge, DirectBridge, top_aligned
from seq2seq.models.decoders import Decoder, create_decoder, find_decoder
from seq2seq.models.encoders import Encoder
from seq2seq.models.io import token_vocab_size
from seq2seq.models.parts import PartSpec
from seq2seq.models.registry import BRIDGES, ENCODERS
from seq2seq.options.model import ModelOptions
from seq2seq.registry import make_options


@dataclass
class Parts:
    """A model's parts."""

    encoder: Encoder
    bridge: Bridge
    decoder: Decoder

    @classmethod
    def create(cls, spec: PartSpec) -> Parts:
        """New parts for ``spec``.

        Raises:
            Seq2SeqError: the parts cannot be joined (the message says which setting).
        """
        encoder = ENCODERS.get(spec.options.encoder).create(spec)
        decoder = create_decoder(spec, encoder.memory_width)
        bridge_class = BRIDGES.get(spec.options.bridge)
        bridge = bridge_class.create(spec, encoder.state_widths(), decoder.state_widths())
        return cls(encoder, bridge, decoder)

    @classmethod
    def find(cls, training: keras.Model) -> Parts:
        """The parts of a loaded training model, by layer name."""
        by_name = {layer.name: layer for layer in training.layers}
        encoder = next((e for e in (k.find(by_name) for k in ENCODERS) if e is not None), None)
        decoder = find_decoder(by_name)
        if encoder is None or decoder is None:
            raise Seq2SeqError(f"not a seq2seq model: layers {sorted(by_name)}")
        bridges = (b.find(by_name) for b in BRIDGES)
        bridge = next((b for b in bridges if b is not None), DirectBridge())
        return cls(encoder, bridge, decoder)

    def start(self, source: Any) -> tuple[Any, list]:
        """The encoder's memory and the decoder's initial states (per layer, None = zeros)."""
        encoded = self.encoder(source)
        depth = len(self.decoder.state_widths())
        return encoded.memory, self.bridge(encoded.finals, depth)

    def training_model(self, name: str) -> keras.Model:
        """``{"source", "target_in"}`` -> per-step probabilities (teacher forcing)."""
        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        target_in = keras.Input(shape=(None,), dtype="int32", name=TARGET_IN_KEY)
        memory, initial = self.start(source)
        probs = self.decoder.teacher_forced(target_in, initial, memory, source)
        return keras.Model({SOURCE_KEY: source, TARGET_IN_KEY: target_in}, probs, name=name)

    def oracle_models(self) -> tuple[keras.Model, keras.Model]:
        """The oracle ``encoder`` and ``decoder_step`` models over the same layers."""
        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        memory, initial = self.start(source)
        state = self.decoder.start_state(initial, memory, source)
        encoder = keras.Model(source, state, name="encoder")
        return encoder, self.decoder.step_model(self.encoder.memory_width)


class ComposedSeq2Seq(Seq2SeqModel):
    """A model composed of :class:`Parts`; the families below fix the cell."""

    #: The recurrent cell of the family's decoder (and recurrent encoder).
    cell: ClassVar[str] = ""
    options = ModelOptions
    #: Cases the contract harness runs on top of every part's own (see ``tests/contract.py``).
    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, training: keras.Model, parts: Parts) -> None:
        encoder, decoder_step = parts.oracle_models()
        super().__init__(training, encoder, decoder_step)
        self.parts = parts

    @classmethod
    def build(cls, source_vocab_size: int, target_vocab_size: int, **options: Any):
        opts = make_options(ModelOptions, "model", options)
        spec = PartSpec(opts, cls.cell, source_vocab_size, target_vocab_size)
        return cls.build_spec(spec)

    @classmethod
    def build_spec(cls, spec: PartSpec) -> ComposedSeq2Seq:
        """Builds the training model for ``spec``, named for the family."""
        parts = Parts.create(spec)
        return cls(parts.training_model(cls.keras_name), parts)

    @classmethod
    def from_training_model(cls, training: keras.Model) -> ComposedSeq2Seq:
        return cls(training, Parts.find(training))

    @property
    def source_vocab_size(self) -> int:
        return token_vocab_size(self.parts.encoder.embedding)

    @property
    def target_vocab_size(self) -> int:
        return int(self.parts.decoder.output.layer.units)

    def encode(self, source):
        return self.reference_encode(source)

    def step(self, tokens, state):
        return self.reference_step(ops.expand_dims(tokens, 1), state)

    def alignments(self, source, target_in):
        """Attention weights ``[batch, target, source]`` when the decoder reads
        ``target_in`` (teacher forcing; a greedy output fed back gives the weights its
        decoding used). None without attention."""
        state = self.reference_encode(source)
        return self.parts.decoder.alignments(state, ops.convert_to_tensor(target_in, "int32"))

    def attention_maps(self, source, target_in) -> list[AttentionMap]:
        """The decoder's attention over the encoder's memory (the inspector's view when the
        encoder has no recurrent layers, e.g. ``model.encoder=transformer``)."""
        weights = self.alignments(source, target_in)
        if weights is None:
            raise CapabilityError(f"the {self.parts.encoder.name} encoder's model has no attention")
        return [AttentionMap("decoder attention", np.asarray(weights)[0], "target", "source")]

    def recurrent_stack(self) -> RecurrentStack:
        """The recurrent layers (an input-feeding decoder's cells run inside one layer, so
        only its encoder layers are listed)."""
        encoder_layers = self.parts.encoder.recurrent_layers()
        if encoder_layers is None:
            raise CapabilityError(
                f"the {self.parts.encoder.name} encoder has no recurrent layers to trace"
                " (the inspector traces recurrent encoders only)"
            )
        decoder_layers = self.parts.decoder.recurrent_layers()
        if not isinstance(self.parts.bridge, DirectBridge):
            starts = [None] * len(decoder_layers)  # the bridge's outputs, not a layer's state
        else:
            starts = top_aligned(len(encoder_layers), len(decoder_layers))
        return RecurrentStack(
            self.parts.encoder.embedding,
            self.parts.decoder.embedding,
            encoder_layers,
            decoder_layers,
            starts,
        )
