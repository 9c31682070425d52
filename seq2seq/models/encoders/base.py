"""The encoder part's interface (see :mod:`seq2seq.models.parts`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import keras

from seq2seq.models.parts import Encoded, PartSpec


class Encoder(ABC):
    """An encoder: source ids -> :class:`~seq2seq.models.parts.Encoded`.

    The contract every encoder keeps (``tests/test_families.py`` checks it on every
    registered one): its output does not change when PAD columns are appended to the
    source (``x`` and ``x + PAD`` encode alike), so a sentence decodes the same alone or in
    a batch with longer ones.

    Attributes:
        embedding: the source token layer (named ``source_embedding``).
    """

    #: Registry name (``model.encoder``); set by ``ENCODERS.register``.
    name: ClassVar[str] = ""
    #: Tiny ``model.*`` options the contract harness builds this encoder with (with every
    #: family), by case name.
    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {}

    embedding: keras.layers.Layer

    @classmethod
    @abstractmethod
    def create(cls, spec: PartSpec) -> Encoder:
        """New layers for ``spec``."""

    @classmethod
    @abstractmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> Encoder | None:
        """This encoder's layers in a loaded model (by name), or None if it has none."""

    @abstractmethod
    def __call__(self, source: Any) -> Encoded:
        """Runs the encoder on ``[batch, time]`` int32 source ids (PAD = 0)."""

    @abstractmethod
    def state_widths(self) -> list[list[int]]:
        """Widths of each layer's final states, bottom first (what a bridge hands over)."""

    @property
    @abstractmethod
    def memory_width(self) -> int:
        """Width of :attr:`Encoded.memory`."""

    def recurrent_layers(self) -> list[keras.layers.Layer] | None:
        """The recurrent layers, bottom first, for the inspector; None when it has none."""
        return None
