"""The recurrent encoder: LSTM or GRU layers, stacked, optionally bidirectional.

Layers ``encoder_<cell>_1 .. encoder_<cell>_E`` (the Keras example's single layer is
``encoder_lstm``). Every layer returns its final state (``return_state=True``); every layer
but the top one returns sequences to feed the next, and the top one too when attention reads
them. A bidirectional layer's forward and backward final states are concatenated, so the
decoder after it is ``2 * units`` wide. PAD steps are masked: the state carries over them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from seq2seq.models.encoders.base import Encoder
from seq2seq.models.io import SOURCE_EMBEDDING, token_layer
from seq2seq.models.parts import Encoded, PartSpec, states_per_cell
from seq2seq.models.registry import ENCODERS

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def recurrent_layer(spec: PartSpec, units: int, name: str, sequences: bool) -> keras.layers.Layer:
    """A ``spec.cell`` layer that returns its final state (and its sequence if
    ``sequences``), with the configured dropout."""
    return CELLS[spec.cell](
        units,
        return_sequences=sequences,
        return_state=True,
        dropout=spec.options.dropout,
        recurrent_dropout=spec.options.recurrent_dropout,
        name=name,
    )


def _layer(spec: PartSpec, name: str, top: bool) -> keras.layers.Layer:
    opts = spec.options
    rnn = recurrent_layer(spec, opts.units, name, not top or opts.attention is not None)
    return keras.layers.Bidirectional(rnn, name=name) if opts.bidirectional else rnn


def layer_names(side: str, cell: str, count: int, keras_example: bool) -> list[str]:
    """``<side>_<cell>_1 .. _<count>``, or the Keras example's ``<side>_lstm``."""
    if keras_example:
        return [f"{side}_{cell}"]
    return [f"{side}_{cell}_{i + 1}" for i in range(count)]


def find_stack(by_name: dict[str, keras.layers.Layer], side: str) -> tuple[str, list] | None:
    """``(cell, layers)`` of a loaded model's ``<side>`` stack, or None."""
    for cell in CELLS:
        if f"{side}_{cell}" in by_name:  # the Keras example's single layer
            return cell, [by_name[f"{side}_{cell}"]]
        found, i = [], 1
        while f"{side}_{cell}_{i}" in by_name:
            found.append(by_name[f"{side}_{cell}_{i}"])
            i += 1
        if found:
            return cell, found
    return None


@ENCODERS.register("recurrent")
class RecurrentEncoder(Encoder):
    """LSTM/GRU layers (the family's cell), stacked, optionally bidirectional."""

    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {},
        "stacked": {"encoder_layers": 2, "decoder_layers": 2, "dropout": 0.1},
        "stacked-uneven": {"encoder_layers": 1, "decoder_layers": 2},
        "bidirectional": {"bidirectional": True, "encoder_layers": 2},
        "luong": {"attention": "luong", "recurrent_dropout": 0.1},
        "bahdanau-bi": {"attention": "bahdanau", "bidirectional": True},
        "luong-feeding": {"attention": "luong", "input_feeding": True, "decoder_layers": 2},
        "bahdanau-feeding-bi": {
            "attention": "bahdanau",
            "input_feeding": True,
            "bidirectional": True,
        },
    }

    def __init__(self, cell: str, embedding: keras.layers.Layer, layers: list) -> None:
        self.cell, self.embedding, self.layers = cell, embedding, layers

    @classmethod
    def create(cls, spec: PartSpec) -> RecurrentEncoder:
        opts = spec.options
        names = layer_names("encoder", spec.cell, opts.encoder_layers, spec.keras_example)
        layers = [_layer(spec, n, top=i == len(names) - 1) for i, n in enumerate(names)]
        embedding = token_layer(spec.source_vocab_size, opts.embedding_dim, SOURCE_EMBEDDING)
        return cls(spec.cell, embedding, layers)

    @classmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> RecurrentEncoder | None:
        found = find_stack(by_name, "encoder")
        if found is None:
            return None
        cell, layers = found
        return cls(cell, by_name[SOURCE_EMBEDDING], layers)

    def __call__(self, source: Any) -> Encoded:
        x = self.embedding(source)
        finals = []
        for layer in self.layers:
            x, *states = layer(x)
            if isinstance(layer, keras.layers.Bidirectional):
                half = len(states) // 2
                pairs = zip(states[:half], states[half:], strict=True)
                states = [
                    keras.layers.Concatenate(name=f"{layer.name}_state_{j}")([f, b])
                    for j, (f, b) in enumerate(pairs)
                ]
            finals.append(states)
        top = self.layers[-1]
        returns_sequences = (top.forward_layer if self.bidirectional else top).return_sequences
        return Encoded(memory=x if returns_sequences else None, finals=finals)

    @property
    def bidirectional(self) -> bool:
        return isinstance(self.layers[0], keras.layers.Bidirectional)

    @property
    def width(self) -> int:
        inner = self.layers[0].forward_layer if self.bidirectional else self.layers[0]
        return int(inner.units) * (2 if self.bidirectional else 1)

    def state_widths(self) -> list[list[int]]:
        return [[self.width] * states_per_cell(self.cell) for _ in self.layers]

    @property
    def memory_width(self) -> int:
        return self.width

    def recurrent_layers(self) -> list[keras.layers.Layer]:
        return list(self.layers)
