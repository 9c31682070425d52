"""Decoder parts: recurrent layers, with or without attention, with or without input feeding.

A decoder owns the target embedding and the output layer, and knows its decode-loop state:
``start_state`` lays out the flat state the compiled loop carries (each layer's states, then
what the attention reads), and ``step_model`` is the oracle Keras model of one step over it.

* :class:`RecurrentDecoder` (layers ``decoder_<cell>_1 .. _D``; the Keras example's is
  ``decoder_lstm``), then with ``model.attention`` a ``keras.layers.Attention`` (``luong``,
  dot-product scores) or ``AdditiveAttention`` (``bahdanau``) over the encoder's sequence
  with padding masked, and ``attention_combine``: ``tanh(W [context; h])``, the attentional
  vector the output layer reads (Luong et al. 2015). State: every layer's states, then
  (with attention) the memory and its mask.
* :class:`FeedingDecoder` (``model.input_feeding=true``): one
  :class:`seq2seq.layers.InputFeedingDecoder` layer (``decoder_feeding``) that runs the cells
  and the attention step by step, feeding each attentional vector into the next step. State:
  every cell's states, the attentional vector, the memory and the source ids.

Both are registered in :data:`~seq2seq.models.registry.DECODERS` and implement
:class:`Decoder`; the model composes whichever one the settings select, so a new decoder is
one registered class (no edit of ``composed.py`` or ``families.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
from keras import ops

from seq2seq.errors import Seq2SeqError
from seq2seq.layers import InputFeedingDecoder
from seq2seq.models.encoders.recurrent import find_stack, layer_names, recurrent_layer
from seq2seq.models.io import OUTPUT_LAYER, TARGET_EMBEDDING, output_layer, token_layer
from seq2seq.models.parts import PartSpec, states_per_cell, zero_state
from seq2seq.models.registry import DECODERS
from seq2seq.options.model import ModelOptions
from seq2seq.vocab import PAD_ID

ATTENTION = "attention"
ATTENTION_COMBINE = "attention_combine"
FEEDING_DECODER = "decoder_feeding"
ATTENTIONS = {"luong": keras.layers.Attention, "bahdanau": keras.layers.AdditiveAttention}


def _flat(groups: list[list[Any]]) -> list[Any]:
    return [s for group in groups for s in group]


def _filled(initial: list, widths: list[list[int]], source: Any, dtype: str) -> list[list[Any]]:
    """``initial`` per layer, a layer without states (None) given zeros of its widths."""
    return [
        init if init is not None else [zero_state(source, w, dtype) for w in row]
        for init, row in zip(initial, widths, strict=True)
    ]


def _state_inputs(widths: list[list[int]]) -> list[list[Any]]:
    return [
        [keras.Input(shape=(w,), name=f"state_{i}_{j}") for j, w in enumerate(row)]
        for i, row in enumerate(widths)
    ]


class Decoder:
    """What the model asks of a decoder part (each registered in ``DECODERS``).

    A decoder owns the target embedding and the output layer. It is made new
    (:meth:`create`) for the settings that select it (:meth:`selected_by`), or found again
    by layer name (:meth:`find`) in a loaded model. The decode loop's state is its own:
    :meth:`start_state` lays it out, :meth:`step_model` is one oracle step over it.
    """

    #: Whether it attends to the encoder's memory (an attention model).
    reads_memory: ClassVar[bool] = False
    name: ClassVar[str] = ""

    @classmethod
    def selected_by(cls, options: ModelOptions) -> bool:
        """Whether the ``model.*`` settings ask for this decoder."""
        raise NotImplementedError

    @classmethod
    def create(cls, spec: PartSpec, width: int) -> Decoder:
        """New layers for ``spec``, ``width`` wide (the encoder's memory width)."""
        raise NotImplementedError

    @classmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> Decoder | None:
        """The decoder in a loaded model's layers, or None when it is not this kind."""
        raise NotImplementedError

    def state_widths(self) -> list[list[int]]:
        """Each layer's state widths (what a bridge must give it)."""
        raise NotImplementedError

    def teacher_forced(self, target_in, initial: list, memory, source) -> Any:
        """The training graph's probabilities for ``target_in`` from the bridge's
        ``initial`` states (per layer; None = zeros)."""
        raise NotImplementedError

    def start_state(self, initial: list, memory, source) -> list[Any]:
        """The flat decode-loop state before the first step."""
        raise NotImplementedError

    def step_model(self, memory_width: int) -> keras.Model:
        """The oracle step: ``[token, *state]`` -> ``[probs, *state]``."""
        raise NotImplementedError

    def alignments(self, state: list[Any], target_in) -> Any:
        """Attention weights ``[batch, target, source]`` from a start state (None without
        attention)."""
        return None

    def recurrent_layers(self) -> list[keras.layers.Layer]:
        """The recurrent layers the inspector traces (none by default)."""
        return []


@DECODERS.register("recurrent")
class RecurrentDecoder(Decoder):
    """Stacked LSTM/GRU layers, optional attention, the output layer."""

    @classmethod
    def selected_by(cls, options: ModelOptions) -> bool:
        return not options.input_feeding

    def __init__(self, cell, embedding, layers, attention, combine, output) -> None:
        self.cell, self.embedding, self.layers = cell, embedding, layers
        self.attention, self.combine, self.output = attention, combine, output

    @classmethod
    def create(cls, spec: PartSpec, width: int) -> RecurrentDecoder:
        """New layers ``width`` wide (the encoder's state width)."""
        opts = spec.options
        names = layer_names("decoder", spec.cell, opts.decoder_layers, spec.keras_example)
        layers = [recurrent_layer(spec, width, name, sequences=True) for name in names]
        attention = combine = None
        if opts.attention:
            attention = ATTENTIONS[opts.attention](name=ATTENTION)
            combine = keras.layers.Dense(width, activation="tanh", name=ATTENTION_COMBINE)
        embedding = token_layer(spec.target_vocab_size, opts.embedding_dim, TARGET_EMBEDDING)
        return cls(
            spec.cell, embedding, layers, attention, combine, output_layer(spec.target_vocab_size)
        )

    @classmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> RecurrentDecoder | None:
        found = find_stack(by_name, "decoder")
        if found is None:
            return None
        cell, layers = found
        return cls(
            cell,
            by_name[TARGET_EMBEDDING],
            layers,
            by_name.get(ATTENTION),
            by_name.get(ATTENTION_COMBINE),
            by_name[OUTPUT_LAYER],
        )

    @property
    def reads_memory(self) -> bool:  # type: ignore[override]
        return self.attention is not None

    def state_widths(self) -> list[list[int]]:
        return [[int(layer.units)] * states_per_cell(self.cell) for layer in self.layers]

    def teacher_forced(self, target_in, initial, memory, source) -> Any:
        return self.run(target_in, initial, memory=memory)[0]

    def run(self, target_in, initial, memory=None, memory_mask=None, scores=False):
        """Teacher-forced decoding from ``initial`` (per layer; None = zeros): returns the
        probabilities, every layer's final states and (``scores=True``) the attention."""
        x = self.embedding(target_in)
        finals, weights = [], None
        for layer, init in zip(self.layers, initial, strict=True):
            x, *states = layer(x, initial_state=init)
            finals.append(states)
        if self.attention is not None:
            kwargs: dict[str, Any] = {"return_attention_scores": True} if scores else {}
            if memory_mask is not None:  # else the Keras masks of x and memory apply
                kwargs["mask"] = [None, memory_mask]
            context = self.attention([x, memory], **kwargs)
            if scores:
                context, weights = context
            joined = keras.layers.Concatenate(name="attention_inputs")([context, x])
            x = self.combine(joined)
        return self.output(x), finals, weights

    def start_state(self, initial, memory, source) -> list[Any]:
        """The flat decode-loop state before the first step (zeros where ``initial`` has
        None), for the oracle encoder model."""
        groups = _filled(initial, self.state_widths(), source, self.embedding.compute_dtype)
        extra = [memory, ops.not_equal(source, PAD_ID)] if self.reads_memory else []
        return _flat(groups) + extra

    def step_model(self, memory_width: int) -> keras.Model:
        """The oracle step: ``[token, *state]`` -> ``[probs, *state]``."""
        token = keras.Input(shape=(None,), dtype="int32", name="token")
        groups = _state_inputs(self.state_widths())
        extra = []
        if self.reads_memory:
            extra = [
                keras.Input(shape=(None, memory_width), name="memory"),
                keras.Input(shape=(None,), dtype="bool", name="memory_mask"),
            ]
        probs, finals, _ = self.run(token, groups, *extra)
        return keras.Model(
            [token, *_flat(groups), *extra], [probs, *_flat(finals), *extra], name="decoder_step"
        )

    def alignments(self, state: list[Any], target_in) -> Any:
        """Attention weights ``[batch, target, source]`` from a start state; None without
        attention."""
        if not self.reads_memory:
            return None
        per = states_per_cell(self.cell)
        groups = [state[i : i + per] for i in range(0, len(state) - 2, per)]
        _, _, weights = self.run(target_in, groups, *state[-2:], scores=True)
        return weights

    def recurrent_layers(self) -> list[keras.layers.Layer]:
        return list(self.layers)


@DECODERS.register("feeding")
class FeedingDecoder(Decoder):
    """Stacked cells and attention with input feeding, in one layer."""

    @classmethod
    def selected_by(cls, options: ModelOptions) -> bool:
        return bool(options.input_feeding)

    def __init__(self, embedding, feeding: InputFeedingDecoder, output) -> None:
        self.embedding, self.feeding, self.output = embedding, feeding, output

    @classmethod
    def create(cls, spec: PartSpec, width: int) -> FeedingDecoder:
        opts = spec.options
        feeding = InputFeedingDecoder(
            width, spec.cell, opts.decoder_layers, opts.attention, name=FEEDING_DECODER
        )
        embedding = token_layer(spec.target_vocab_size, opts.embedding_dim, TARGET_EMBEDDING)
        return cls(embedding, feeding, output_layer(spec.target_vocab_size))

    @classmethod
    def find(cls, by_name: dict[str, keras.layers.Layer]) -> FeedingDecoder | None:
        if FEEDING_DECODER not in by_name:
            return None
        return cls(by_name[TARGET_EMBEDDING], by_name[FEEDING_DECODER], by_name[OUTPUT_LAYER])

    reads_memory = True

    @property
    def cell(self) -> str:
        return self.feeding.cell_type

    def state_widths(self) -> list[list[int]]:
        per = self.feeding.states_per_cell
        return [[self.feeding.units] * per for _ in range(self.feeding.num_layers)]

    def run(self, target_in, given, memory, source, scores=False):
        """Teacher-forced decoding; ``given`` is the full flat state or the top cells' states
        (the rest start at zero). Returns probabilities, ``[final flat state]``, weights."""
        a, final, weights = self.feeding(
            self.embedding(target_in), initial_state=given, memory=memory, source=source
        )
        return self.output(a), [final], weights

    def teacher_forced(self, target_in, initial, memory, source) -> Any:
        # the given (top) states only: the rest start at zero inside the layer, not as
        # zeros built by plain ops in the training graph
        given = _flat([init for init in initial if init is not None])
        return self.run(target_in, given, memory, source)[0]

    def start_state(self, initial, memory, source) -> list[Any]:
        dtype = self.embedding.compute_dtype
        groups = _filled(initial, self.state_widths(), source, dtype)
        return [*_flat(groups), zero_state(source, self.feeding.units, dtype), memory, source]

    def step_model(self, memory_width: int) -> keras.Model:
        token = keras.Input(shape=(None,), dtype="int32", name="token")
        flat = _flat(_state_inputs(self.state_widths()))
        flat.append(keras.Input(shape=(self.feeding.units,), name="attentional"))
        memory = keras.Input(shape=(None, memory_width), name="memory")
        source = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        probs, finals, _ = self.run(token, flat, memory, source)
        return keras.Model(
            [token, *flat, memory, source], [probs, *_flat(finals), memory, source],
            name="decoder_step",
        )  # fmt: skip

    def alignments(self, state: list[Any], target_in) -> Any:
        _, _, weights = self.run(target_in, state[:-2], *state[-2:])
        return weights

    # recurrent_layers: none, the cells run inside one layer (not traced by the inspector)


def create_decoder(spec: PartSpec, width: int) -> Decoder:
    """The registered decoder the settings select, ``width`` wide.

    Raises:
        Seq2SeqError: no decoder, or more than one, is selected by the settings.
    """
    chosen = [kind for kind in DECODERS if kind.selected_by(spec.options)]
    if len(chosen) != 1:
        names = ", ".join(kind.name for kind in chosen) or "none"
        raise Seq2SeqError(f"the model.* settings select one decoder, not {names}")
    return chosen[0].create(spec, width)


def find_decoder(by_name: dict[str, keras.layers.Layer]) -> Decoder | None:
    """The decoder of a loaded model (the registered kind whose layers it has), or None."""
    return next((d for d in (kind.find(by_name) for kind in DECODERS) if d is not None), None)
