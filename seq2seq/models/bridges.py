"""Bridges (``model.bridge``): how the encoder's final states become the decoder's initial
states (JoeyNMT's ``bridge``).

``bridge(finals)`` takes each encoder layer's final states (bottom first) and returns, for
each decoder layer (bottom first), its initial states or None (zeros).

* ``direct``: the Keras example's hand-over, top-aligned: decoder layer ``D - k`` starts
  from encoder layer ``E - k``'s final states as they are; extra bottom decoder layers start
  from zeros. The states must match in number and width (an LSTM's ``[h, c]`` for an LSTM).
* ``dense``: each decoder state is ``tanh(W s + b)`` of the top encoder layer's final states
  ``s`` (concatenated), layers ``bridge_<layer>_<state>``: any encoder to any decoder.

A loaded model's bridge is found by its layers; one without bridge layers is ``direct``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import keras

from seq2seq.errors import Seq2SeqError
from seq2seq.models.parts import PartSpec
from seq2seq.models.registry import BRIDGES


class Bridge(ABC):
    """Encoder final states -> decoder initial states."""

    #: Registry name (``model.bridge``); set by ``BRIDGES.register``.
    name: ClassVar[str] = ""
    #: Tiny ``model.*`` options the contract harness builds this bridge with, by case name.
    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    @abstractmethod
    def create(
        cls, spec: PartSpec, encoder_widths: list[list[int]], decoder_widths: list[list[int]]
    ) -> Bridge:
        """A new bridge from states of ``encoder_widths`` to ``decoder_widths``.

        Raises:
            Seq2SeqError: this bridge cannot join them (the message says what would).
        """

    @classmethod
    @abstractmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> Bridge | None:
        """This bridge's layers in a loaded model, or None when it has none of them."""

    @abstractmethod
    def __call__(self, finals: list[list[Any]], decoder_layers: int) -> list[list[Any] | None]:
        """Initial states for each of ``decoder_layers`` layers (None: zeros)."""


def top_aligned(encoder_layers: int, decoder_layers: int) -> list[int | None]:
    """For each decoder layer, the encoder layer whose final states start it: decoder layer
    ``D - k`` <- encoder layer ``E - k`` (None: no twin, zeros)."""
    shift = encoder_layers - decoder_layers
    return [i + shift if i + shift >= 0 else None for i in range(decoder_layers)]


@BRIDGES.register("direct")
class DirectBridge(Bridge):
    """The encoder's final states, handed over as they are (top-aligned)."""

    @classmethod
    def create(cls, spec, encoder_widths, decoder_widths) -> DirectBridge:
        pairs = top_aligned(len(encoder_widths), len(decoder_widths))
        for layer, twin in enumerate(pairs):
            if twin is not None and encoder_widths[twin] != decoder_widths[layer]:
                raise Seq2SeqError(
                    f"model.bridge=direct hands the encoder's final states over as they are,"
                    f" but model.encoder={spec.options.encoder} gives states of widths"
                    f" {encoder_widths[twin]} and the {spec.cell} decoder needs"
                    f" {decoder_widths[layer]}: use model.bridge=dense"
                )
        return cls()

    @classmethod
    def find(cls, by_name) -> DirectBridge | None:
        return None  # no layers: what a model without another bridge's layers has

    def __call__(self, finals, decoder_layers):
        pairs = top_aligned(len(finals), decoder_layers)
        return [None if twin is None else list(finals[twin]) for twin in pairs]


@BRIDGES.register("dense")
class DenseBridge(Bridge):
    """``tanh(W s + b)`` of the top encoder layer's final states, per decoder state."""

    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {
        "dense": {"bridge": "dense", "decoder_layers": 2}
    }

    def __init__(self, layers: list[list[keras.layers.Layer]]) -> None:
        self.layers = layers

    @classmethod
    def create(cls, spec, encoder_widths, decoder_widths) -> DenseBridge:
        return cls(
            [
                [
                    keras.layers.Dense(width, activation="tanh", name=f"bridge_{i + 1}_{j + 1}")
                    for j, width in enumerate(widths)
                ]
                for i, widths in enumerate(decoder_widths)
            ]
        )

    @classmethod
    def find(cls, by_name) -> DenseBridge | None:
        layers, i = [], 1
        while f"bridge_{i}_1" in by_name:
            row, j = [], 1
            while f"bridge_{i}_{j}" in by_name:
                row.append(by_name[f"bridge_{i}_{j}"])
                j += 1
            layers.append(row)
            i += 1
        return cls(layers) if layers else None

    def __call__(self, finals, decoder_layers):
        top = finals[-1]
        summary = top[0] if len(top) == 1 else keras.layers.Concatenate(name="bridge_input")(top)
        return [[dense(summary) for dense in row] for row in self.layers]
