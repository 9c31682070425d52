"""The model contract: what search rules, export, benchmark and tests may use of a model.

Every family (one module in :mod:`seq2seq.models`) subclasses :class:`Seq2SeqModel`. The
decode loop sees a model only through

* :meth:`~Seq2SeqModel.encode`: ``[batch, time]`` source ids -> ``state``;
* :meth:`~Seq2SeqModel.step`: ``([batch] tokens, state) -> ([batch, vocab] probs, state)``;

where ``state`` is an opaque nested structure (``tf.nest``) of tensors with a leading batch
axis: an LSTM's two state tensors, a GRU's one, per-layer states, attention memory. Search
rules repeat, gather and compact it with ``tf.nest.map_structure`` and never look inside.

The same layers also form two plain Keras models, the step-by-step *oracle* the fast path is
tested against (and the textbook loop the benchmark times):

* ``encoder``: ``source`` -> the flat list ``tf.nest.flatten(state)``;
* ``decoder_step``: ``[token [batch, 1], *flat state]`` ->
  ``[probs [batch, 1, vocab], *flat state]``.

The contract in full (``tests/test_families.py`` runs it on every registered family and
part; a family fails it if any point does not hold):

1. ``encode`` is invariant to right padding: ``x`` and ``x`` + PAD columns give the same
   state (tensors with a time axis: the same over ``x``'s steps) and the same next steps;
2. ``step`` equals the oracle step in probabilities, and the training model's
   teacher-forced probabilities equal the oracle's step by step;
3. the compiled greedy / beam / sampling loops (with and without XLA) equal the oracle
   loop, and beam scores are the oracle's log-probabilities;
4. the training model saves and loads with ``safe_mode=True`` (a family is told by its Keras
   model's name, :meth:`Seq2SeqModel.keras_names`), builds under ``mixed_bfloat16``, and its
   SavedModel export translates as the :class:`~seq2seq.translation.Translator` does.

Required: everything marked abstract below. Optional capabilities: :meth:`alignments`
(attention weights; None without attention) and :meth:`recurrent_stack` (the inspector's
layer traces; raises :class:`CapabilityError`, a one-line error for the user, by default).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from seq2seq.errors import Seq2SeqError


class CapabilityError(Seq2SeqError):
    """A model lacks an optional capability (e.g. recurrent layers for the inspector)."""


@dataclass
class RecurrentStack:
    """The recurrent layers of a model in order, for inspection (``scripts/inspect_model.py``).

    Attributes:
        source_embedding: the layer that turns source ids into the encoder's input.
        target_embedding: the layer that turns decoder input ids into its input.
        encoder: encoder layers, bottom first (LSTM, GRU or Bidirectional).
        decoder: decoder layers, bottom first.
        starts: for each decoder layer, the index of the encoder layer whose final state
            is its initial state (None: zeros).
    """

    source_embedding: keras.layers.Layer
    target_embedding: keras.layers.Layer
    encoder: list
    decoder: list
    starts: list


@dataclass
class AttentionMap:
    """One attention layer's weights for one input, heads averaged, for inspection.

    Attributes:
        name: e.g. ``decoder block_1 cross-attention``.
        weights: ``[queries, keys]``; each row sums to 1.
        queries: ``source`` or ``target`` (what the rows read).
        keys: ``source`` or ``target`` (what the columns are).
    """

    name: str
    weights: np.ndarray
    queries: str
    keys: str


class Seq2SeqModel(ABC):
    """Base class of the model families; see the module docstring for the contract.

    Attributes:
        training: the Keras training model, ``{"source", "target_in"}`` -> per-step
            probabilities (teacher forcing); the only model saved (``model.keras``).
        encoder: oracle encoder (Keras model), source -> flat state list.
        decoder_step: oracle decoder step (Keras model), ``[token, *state]`` ->
            ``[probs, *state]``.
    """

    #: Registry name (``model.name`` in config); set by ``FAMILIES.register``.
    name: ClassVar[str] = ""
    #: The Keras training model's name, which tells the family of a saved ``model.keras``.
    keras_name: ClassVar[str] = ""
    #: The family's ``model.*`` settings: a frozen dataclass that checks its values.
    options: ClassVar[type] = object
    #: Whether the oracle's state is the fast path's (then the harness compares them); a
    #: family whose oracle recomputes instead of caching (the Transformer) says False.
    oracle_shares_state: ClassVar[bool] = True

    def __init__(self, training: keras.Model, encoder: keras.Model, decoder_step: keras.Model):
        self.training = training
        self.encoder = encoder
        self.decoder_step = decoder_step

    @classmethod
    def keras_names(cls) -> tuple[str, ...]:
        """Names of the Keras training models this family loads."""
        return (cls.keras_name,)

    # --- building and loading (each family) --------------------------------------------------
    @classmethod
    @abstractmethod
    def build(cls, source_vocab_size: int, target_vocab_size: int, **options: Any) -> Seq2SeqModel:
        """A new, uncompiled model; ``options`` are the family's ``model.*`` settings."""

    @classmethod
    @abstractmethod
    def from_training_model(cls, training: keras.Model) -> Seq2SeqModel:
        """Wraps a (loaded) training model, rebuilding the oracle models from its layers."""

    # --- the contract ------------------------------------------------------------------------
    @property
    @abstractmethod
    def source_vocab_size(self) -> int:
        """Number of source ids the model reads (reserved ids included)."""

    @property
    @abstractmethod
    def target_vocab_size(self) -> int:
        """Number of target ids the model predicts (reserved ids included)."""

    @abstractmethod
    def encode(self, source: tf.Tensor) -> Any:
        """The decoder's initial state for ``[batch, time]`` int32 source ids (PAD = 0)."""

    @abstractmethod
    def step(self, tokens: tf.Tensor, state: Any) -> tuple[tf.Tensor, Any]:
        """One decoder step: ``[batch]`` int32 tokens -> ``([batch, vocab] probs, new state)``."""

    def decoding_state(self, source: tf.Tensor, max_length: tf.Tensor) -> Any:
        """The state the decode loop starts from for at most ``max_length`` steps: a model
        whose state holds a cache of the output (the Transformer's) preallocates it to that
        length. By default :meth:`encode`."""
        return self.encode(source)

    def recurrent_stack(self) -> RecurrentStack:
        """The model's recurrent layers in order (for the inspector); optional.

        Raises:
            CapabilityError: the model has none to trace.
        """
        raise CapabilityError(
            f"model family {self.name!r} has no recurrent layers for the inspector to trace"
        )

    def attention_maps(self, source: Any, target_in: Any) -> list[AttentionMap]:
        """Every attention layer's weights for one input (``[1, time]`` ids), in order; the
        inspector's view of a model without recurrent layers. Optional.

        Raises:
            CapabilityError: the model has no attention layers to show.
        """
        raise CapabilityError(f"model family {self.name!r} has no attention layers to show")

    def alignments(self, source: Any, target_in: Any) -> tf.Tensor | None:
        """Attention weights ``[batch, target, source]`` when the decoder reads
        ``target_in``; None for models without attention."""
        return None

    # --- the oracle, generic over the state ------------------------------------------------
    def reference_encode(self, source: Any) -> list[tf.Tensor]:
        """The oracle encoder's output: the flat state list."""
        outputs = tf.nest.flatten(self.encoder(source, training=False))
        return [tf.identity(x) for x in outputs]  # without the Keras masks they carry

    def reference_step(self, tokens: Any, flat_state: list) -> tuple[tf.Tensor, list]:
        """One oracle step: ``[batch, 1]`` tokens -> ``([batch, vocab] probs, flat state)``."""
        tokens = tf.convert_to_tensor(tokens, tf.int32)
        probs, *flat_state = self.decoder_step([tokens, *flat_state], training=False)
        return probs[:, -1], flat_state
