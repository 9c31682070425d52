"""Ensemble decoding: several trained models that share a vocabulary, decoded as one.

:class:`Ensemble` satisfies the model contract (:mod:`seq2seq.models.base`): its state is the
tuple of its members' states and its step averages the members' next-character
probabilities, so every search rule, the :class:`~seq2seq.translation.Translator` and the
SavedModel export decode an ensemble unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from seq2seq.errors import Seq2SeqError
from seq2seq.models.base import CapabilityError, Seq2SeqModel


class Ensemble(Seq2SeqModel):
    """The mean of several models' next-character distributions."""

    name = "ensemble"
    keras_name = ""

    def __init__(self, members: Sequence[Seq2SeqModel]) -> None:
        """Binds the members.

        Raises:
            Seq2SeqError: fewer than two members, or members of different vocabulary sizes.
        """
        members = list(members)
        if len(members) < 2:
            raise Seq2SeqError("an ensemble needs at least two models")
        sizes = {(m.source_vocab_size, m.target_vocab_size) for m in members}
        if len(sizes) > 1:
            raise Seq2SeqError(
                f"the models of an ensemble must share their vocabularies; sizes {sorted(sizes)}"
            )
        self.members = members
        # What export tracks and saves: every member's Keras model.
        self.training = members[0].training
        self.encoder = self.decoder_step = None
        self._flat_sizes: list[int] = []

    @classmethod
    def build(cls, source_vocab_size: int, target_vocab_size: int, **options: Any) -> Ensemble:
        raise CapabilityError("an ensemble is made of trained models, not built (Ensemble([...]))")

    @classmethod
    def from_training_model(cls, training: keras.Model) -> Ensemble:
        raise CapabilityError("an ensemble is not saved as one model; load its members")

    @property
    def keras_models(self) -> list[keras.Model]:
        """The members' Keras models (all of them are exported)."""
        return [m.training for m in self.members]

    @property
    def source_vocab_size(self) -> int:
        return self.members[0].source_vocab_size

    @property
    def target_vocab_size(self) -> int:
        return self.members[0].target_vocab_size

    def encode(self, source: tf.Tensor) -> tuple:
        return tuple(m.encode(source) for m in self.members)

    def decoding_state(self, source: tf.Tensor, max_length: tf.Tensor) -> tuple:
        return tuple(m.decoding_state(source, max_length) for m in self.members)

    def step(self, tokens: tf.Tensor, state: tuple) -> tuple[tf.Tensor, tuple]:
        results = [m.step(tokens, s) for m, s in zip(self.members, state, strict=True)]
        probs = tf.add_n([p for p, _ in results]) / float(len(results))
        return probs, tuple(s for _, s in results)

    def reference_encode(self, source: Any) -> list[tf.Tensor]:
        """The members' oracle states, one flat list (their sizes kept for the steps)."""
        flats = [m.reference_encode(source) for m in self.members]
        self._flat_sizes = [len(flat) for flat in flats]
        return [x for flat in flats for x in flat]

    def reference_step(self, tokens: Any, flat_state: list) -> tuple[tf.Tensor, list]:
        """The members' oracle steps, their probabilities averaged."""
        probs, states, start = [], [], 0
        for member, size in zip(self.members, self._flat_sizes, strict=True):
            p, s = member.reference_step(tokens, flat_state[start : start + size])
            probs.append(p)
            states.extend(s)
            start += size
        return tf.add_n(probs) / float(len(probs)), states
