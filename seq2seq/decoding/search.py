"""One compiled decode loop over the model contract; the search rules plug into it.

:class:`SearchRule` encodes a batch once (``model.encode``), then runs ``model.step`` one
step per ``tf.while_loop`` iteration for every hypothesis of every sequence at once, stopping
as soon as all hypotheses have emitted END or ``max_length`` steps have run. A hypothesis
that has emitted END continues only with PAD at no cost, so finished rows stay frozen.

The model's state is opaque: the loop repeats, gathers and compacts it with
``tf.nest.map_structure`` (LSTM, GRU, per-layer states and attention memory alike).

A rule (a subclass) sees the step's log-probabilities ``[batch, width, vocab]`` and the
running scores ``[batch, width]`` and picks, for each of the ``width`` slots, the next token,
the slot it extends (its parent) and the new score. It owns its parameters as a frozen
dataclass ``Params`` (defaults and checks); every parameter reaches the graph as a tensor,
so new values never retrace it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import tensorflow as tf

from seq2seq.decoding.compaction import decode_in_chunks, stop_alive
from seq2seq.decoding.controls import (
    CONTROL_SPECS,
    NEG_INF,
    Controls,
    apply_controls,
    as_dtype,
    control_scalars,
    force_prefix,
    history_length,
    padded_prefix,
    param_dtypes,
    row_limits,
)
from seq2seq.errors import Seq2SeqError
from seq2seq.models.base import Seq2SeqModel
from seq2seq.options.decoding import RULE_PARAMS, LoopControls, NoParams
from seq2seq.registry import Registry, typed_values
from seq2seq.vocab import END_ID, PAD_ID, START_ID

__all__ = ["NEG_INF", "SEARCH_RULES", "Hypotheses", "LoopState", "SearchRule", "param_dtypes"]
#: The search rules by ``decoding.name`` (``decoding=<name>`` picks one); each rule's
#: ``Params`` is the record declared for its name in :mod:`seq2seq.options.decoding`.
SEARCH_RULES: Registry = Registry(
    "search rule", "decoding", declared=RULE_PARAMS, record="Params",
    declared_in="seq2seq/options/decoding.py",
)  # fmt: skip


@dataclass
class Hypotheses:
    """Search output: ``ids[batch, n, steps]`` (END then PAD-terminated) and ``scores[batch, n]``.

    Scores are summed log-probabilities of the emitted tokens (END included), divided by the
    length penalty for beam search; candidates are sorted best first.
    """

    ids: np.ndarray
    scores: np.ndarray


class LoopState(NamedTuple):
    """What the decode loop carries from step to step (``width`` hypotheses per sequence)."""

    tokens: tf.Tensor  # [batch, width] int32: the last token of each hypothesis
    model_state: Any  # the model's opaque state, [batch * width, ...] per tensor
    scores: tf.Tensor  # [batch, width] float32: summed log-probabilities
    finished: tf.Tensor  # [batch, width] bool: END emitted
    lengths: tf.Tensor  # [batch, width] int32: tokens emitted up to and including END
    limits: tf.Tensor  # [batch, width] int32: the most tokens of each hypothesis
    history: tf.Tensor  # [batch, width, steps or 0] int32: the tokens emitted, when read
    prefix: tf.Tensor  # [batch, tokens + 1] int32: each sequence's forced first tokens, PAD after


def _decoding_state(model: Any, source: tf.Tensor, max_length: tf.Tensor) -> Any:
    """The state the loop starts from: ``model.decoding_state`` (a cache sized for
    ``max_length`` steps), or ``encode`` for a model with the bare contract (a test stub)."""
    prepare = getattr(model, "decoding_state", None)
    return prepare(source, max_length) if prepare is not None else model.encode(source)


def _batch_shape(x: tf.Tensor) -> tf.TensorShape:
    return tf.TensorShape([None, *x.shape[1:]])


class SearchRule:
    """The shared compiled loop; subclasses define :meth:`select` (and maybe more)."""

    #: Name in config (``decoding.name``); set by ``SEARCH_RULES.register``.
    name: ClassVar[str] = ""
    #: The rule's parameters: a frozen dataclass with defaults that checks its values.
    Params: ClassVar[type] = NoParams
    #: Whether the rule may pick a parent other than the slot itself (beam search); when
    #: False, the loop skips reordering the states, which keeps greedy decoding lean.
    reorders: ClassVar[bool] = False
    #: Batches at least this large decode in chunks, dropping finished sequences between
    #: chunks (0 = never). A chunk runs at least ``chunk_steps`` steps, then on until a
    #: quarter of its sequences have finished (compacting pays from then on). Only for rules
    #: whose choices do not depend on a row's position in the batch (greedy; not sampling,
    #: whose random draws do).
    compact_from: ClassVar[int] = 0
    chunk_steps: ClassVar[int] = 6
    #: Whether ``s2s-export`` may put the rule in a SavedModel (its parameters fixed there):
    #: a rule whose answers depend on a random seed per call is not exported.
    exportable: ClassVar[bool] = True

    def __init__(self, model: Seq2SeqModel, jit_compile: bool = False) -> None:
        """Wraps ``model`` (weights shared, not copied).

        Args:
            model: a trained model of any family (see :mod:`seq2seq.models.base`).
            jit_compile: compile the per-step computation with XLA.
        """
        self.model = model
        self.vocab_size = int(model.target_vocab_size)
        self.jit_compile = bool(jit_compile)
        # Finished rows may only continue with PAD, at no cost.
        self._pad_only = np.where(np.arange(self.vocab_size) == PAD_ID, 0.0, NEG_INF).astype(
            np.float32
        )
        self._param_specs = [
            tf.TensorSpec([], dtype, name=name) for name, dtype in param_dtypes(self.Params).items()
        ]
        # The loop's controls, then the rule's parameters: the compiled functions' values.
        self._value_specs = [*CONTROL_SPECS, *self._param_specs]
        signature = [
            tf.TensorSpec([None, None], tf.int32, name="source"),
            tf.TensorSpec([], tf.int32, name="max_length"),
            tf.TensorSpec([], tf.int32, name="n_best"),
            *self._value_specs,
        ]
        # Compiled once each, and by ``lean``: whether the loop leaves out the forced prefix,
        # the n-gram block and the repetition penalty (a request without them runs no part of
        # them, not even the test that they are off).
        self._decode = {
            lean: tf.function(_with_lean(self.decode_graph, lean),
                              input_signature=signature, jit_compile=self.jit_compile)
            for lean in (False, True)
        }  # fmt: skip
        self._concrete: dict[bool, Any] = {}
        self._start_fn: dict[bool, Any] = {}
        self._constants: dict[tuple, list[tf.Tensor]] = {}  # loop_values' scalars by records
        self._loop_fn: dict[bool, Any] = {}

    # --- parameters --------------------------------------------------------------------------
    @classmethod
    def params(cls, **values: Any) -> Any:
        """The rule's checked parameters; unset ones take their defaults.

        Raises:
            Seq2SeqError: an unknown parameter or a value out of range, naming the key.
        """
        known = {f.name for f in dataclasses.fields(cls.Params)}
        for key in values:
            if key not in known:
                raise Seq2SeqError(f"decoding.{key} does not apply to decoding={cls.name}")
        return cls.Params(**typed_values(cls.Params, values))

    def param_tensors(self, record: Any) -> list[tf.Tensor]:
        """A ``Params`` record as the loop's parameter tensors, in signature order."""
        return [tf.constant(as_dtype(getattr(record, spec.name), spec.dtype), spec.dtype)
                for spec in self._param_specs]  # fmt: skip

    def loop_values(self, controls: LoopControls | None, record: Any, prefix: Any) -> list:
        """The compiled functions' values: the loop's controls (with the batch's forced
        prefixes, ``[batch, tokens]``), then the rule's parameters."""
        key = (controls, record)  # frozen records: the same values, the same tensors
        if not tf.executing_eagerly():  # a trace makes its own
            scalars = [*control_scalars(controls), *self.param_tensors(record)]
        elif key in self._constants:
            scalars = self._constants[key]
        else:
            if len(self._constants) >= 64:  # e.g. a new seed at every call
                self._constants.clear()
            scalars = self._constants[key] = [*control_scalars(controls),
                                              *self.param_tensors(record)]  # fmt: skip
        return [tf.convert_to_tensor(prefix, tf.int32), *scalars]

    @classmethod
    def max_candidates(cls, params: Any) -> int:
        """How many candidates per input the rule can return (``n_best`` at most this)."""
        return 1

    # --- rule hooks (tensors in, tensors out) --------------------------------------------------
    def width(self, **params: tf.Tensor) -> tf.Tensor:
        """Number of hypotheses kept per sequence (a scalar int32 tensor)."""
        return tf.constant(1, tf.int32)

    def select(
        self, log_probs: tf.Tensor, scores: tf.Tensor, step: tf.Tensor, **params: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Picks ``(tokens, parents, new_scores)``, each ``[batch, width]``."""
        raise NotImplementedError

    def final_scores(self, scores: tf.Tensor, lengths: tf.Tensor, **params: tf.Tensor) -> tf.Tensor:
        """Scores used to rank finished hypotheses (default: the summed log-probabilities)."""
        return scores

    # --- the loop ------------------------------------------------------------------------------
    def _named(self, values) -> tuple[Controls, dict[str, tf.Tensor]]:
        """The loop's values as its controls and the rule's named parameters."""
        controls = Controls(*values[: len(CONTROL_SPECS)])
        params = values[len(CONTROL_SPECS) :]
        return controls, {spec.name: v for spec, v in zip(self._param_specs, params, strict=True)}

    def start(self, source: tf.Tensor, max_length: tf.Tensor, *values: tf.Tensor) -> LoopState:
        """Encodes ``source``: the loop state before the first step (a model's cache, if it
        keeps one, sized for ``max_length`` steps)."""
        controls, params = self._named(values)
        batch = tf.shape(source)[0]
        width = self.width(**params)
        # One copy of the model state per hypothesis: [batch * width, ...].
        model_state = tf.nest.map_structure(
            lambda x: tf.repeat(x, width, axis=0), _decoding_state(self.model, source, max_length)
        )
        # Only slot 0 is alive at the start, so beam search does not expand copies.
        first = tf.one_hot(tf.zeros([batch], tf.int32), width, on_value=0.0, off_value=NEG_INF)
        return LoopState(
            tokens=tf.fill([batch, width], tf.constant(START_ID, tf.int32)),
            model_state=model_state,
            scores=tf.reshape(first, [batch, width]),
            finished=tf.zeros([batch, width], tf.bool),
            lengths=tf.zeros([batch, width], tf.int32),
            limits=row_limits(source, max_length, controls, width),
            history=tf.zeros(
                tf.stack([batch, width, history_length(max_length, controls)]), tf.int32
            ),
            prefix=padded_prefix(controls.prefix),
        )

    def _step(self, t, state: LoopState, seqs, positions, values, lean: bool):
        """One decoding step for every hypothesis: the new loop state and output buffer
        (``lean``: without the controls that read the history, nor the forced prefix)."""
        controls, params = values
        batch, width = tf.shape(state.tokens)[0], tf.shape(state.tokens)[1]
        probs, model_state = self.model.step(tf.reshape(state.tokens, [-1]), state.model_state)
        log_probs = tf.reshape(tf.math.log(tf.maximum(probs, 1e-30)), [batch, width, -1])
        if not lean:
            log_probs = force_prefix(apply_controls(log_probs, state.history, t, controls),
                                     state.prefix, t)  # fmt: skip
        finished = tf.expand_dims(state.finished, 2)
        log_probs = tf.where(finished, self._pad_only[None, None, :], log_probs)
        tokens, parents, scores = self.select(log_probs, state.scores, t, **params)
        kept = (state.finished, state.lengths, state.limits, state.history, seqs)
        if self.reorders:  # reorder every per-hypothesis tensor by parent slot
            flat_parents = tf.reshape(parents + tf.expand_dims(tf.range(batch), 1) * width, [-1])
            model_state = tf.nest.map_structure(lambda x: tf.gather(x, flat_parents), model_state)
            kept = tuple(tf.gather(x, parents, batch_dims=1) for x in kept)
        finished, lengths, limits, history, seqs = kept
        lengths += tf.cast(tf.logical_not(finished), tf.int32)
        emitted = tf.expand_dims(tokens, 2)  # [batch, width, 1]
        seqs = tf.where(positions == t, emitted, seqs)
        if not lean:
            history = tf.where(tf.range(tf.shape(history)[2]) == t, emitted, history)
        ended = tf.logical_or(tf.equal(tokens, END_ID), lengths >= limits)  # END, or its limit
        finished = tf.logical_or(finished, ended)
        state = LoopState(tokens, model_state, scores, finished, lengths, limits, history,
                          state.prefix)  # fmt: skip
        return state, seqs

    def run(self, t0, budget, stop_alive, state: LoopState, *values, lean: bool = False):
        """Runs steps ``t0 .. t0 + budget - 1``: fewer if every hypothesis finishes, or if
        after ``chunk_steps`` steps at most ``stop_alive`` are unfinished (-1: never).
        ``lean``: the values set no forced prefix, n-gram block or repetition penalty.

        Returns the new state, the emitted tokens ``[batch, width, budget]`` (PAD after the
        last step run) and the number of steps run.
        """
        named = self._named(values)
        batch, width = tf.shape(state.tokens)[0], tf.shape(state.tokens)[1]
        # A fixed-size output buffer (static shapes let XLA compile the whole loop).
        seqs = tf.fill([batch, width, budget], tf.constant(PAD_ID, tf.int32))
        positions = t0 + tf.reshape(tf.range(budget), [1, 1, -1])
        end = t0 + budget

        def keep_going(t, state, seqs):
            alive = tf.reduce_sum(tf.cast(tf.logical_not(state.finished), tf.int32))
            enough = tf.logical_or(t < t0 + self.chunk_steps, alive > stop_alive)
            return tf.logical_and(tf.logical_and(t < end, alive > 0), enough)

        def body(t, state, seqs):
            state, seqs = self._step(t, state, seqs, positions, named, lean)
            return t + 1, state, seqs

        # Every axis of the loop's own tensors may vary; the model state's batch axis only.
        free = {f: tf.TensorShape([None] * getattr(state, f).shape.rank)
                for f in LoopState._fields if f != "model_state"}  # fmt: skip
        model_shapes = tf.nest.map_structure(_batch_shape, state.model_state)
        invariants = (tf.TensorShape([]), LoopState(model_state=model_shapes, **free),
                      tf.TensorShape([None, None, None]))  # fmt: skip
        t, state, seqs = tf.while_loop(
            keep_going, body, (t0, state, seqs), shape_invariants=invariants
        )
        return state, seqs, t - t0

    def decode_graph(self, source, max_length, n_best, *values, lean: bool = False):
        """The whole search as one traceable function: ``(ids, scores, steps)`` tensors;
        ``values``: the loop's controls, then the rule's parameters (``lean``: see
        :meth:`run`)."""
        start = self.start(source, max_length, *values)
        never = tf.constant(-1)
        state, seqs, steps = self.run(tf.constant(0), max_length, never, start, *values, lean=lean)
        ranked = self.final_scores(state.scores, state.lengths, **self._named(values)[1])
        n = tf.minimum(n_best, tf.shape(state.scores)[1])
        top_scores, order = tf.math.top_k(ranked, k=n)
        return tf.gather(seqs, order, batch_dims=1), top_scores, steps

    def __call__(
        self,
        source_ids: np.ndarray | tf.Tensor,
        max_length: int,
        n_best: int = 1,
        controls: LoopControls | None = None,
        prefix_ids: np.ndarray | None = None,
        **params,
    ) -> Hypotheses:
        """Decodes a right-padded ``[batch, time]`` batch of source ids.

        Large batches of a rule with ``compact_from`` are decoded in chunks, dropping
        finished sequences between them; results are the same.

        Args:
            source_ids: int32 source ids, ``PAD_ID``-padded on the right.
            max_length: the most output tokens per hypothesis (END included).
            n_best: hypotheses returned per sequence (at most the search width).
            controls: length limits, n-gram blocking, repetition penalty (None: off).
            prefix_ids: each sequence's forced first output ids, ``[batch, tokens]``,
                PAD-padded (None: none); scores cover what follows them.
            **params: the rule's parameters (fields of its ``Params``), or a ``params=``
                record made by :meth:`params`.
        """
        record = params.pop("params", None) or self.params(**params)
        source = tf.convert_to_tensor(source_ids, tf.int32)
        prefix = np.zeros((source.shape[0], 0), np.int32) if prefix_ids is None else prefix_ids
        values = self.loop_values(controls, record, prefix)
        lean = prefix_ids is None and not (controls and controls.reads_history)
        if self.compact_from and not self.reorders and source.shape[0] >= self.compact_from:
            return self._chunked(source, int(max_length), values, lean)
        if lean not in self._concrete:  # calling a concrete function skips dispatch work
            self._concrete[lean] = self._decode[lean].get_concrete_function()
        ids, scores, steps = self._concrete[lean](
            source, tf.constant(max_length, tf.int32), tf.constant(n_best, tf.int32), *values
        )
        return Hypotheses(ids=ids.numpy()[:, :, : int(steps)], scores=scores.numpy())

    def begin(self, source, max_length, stop_alive, *values, lean: bool = False):
        """Encodes ``source`` and runs the first chunk (:meth:`start`, then :meth:`run`)."""
        state = self.start(source, max_length, *values)
        return self.run(tf.constant(0), max_length, stop_alive, state, *values, lean=lean)

    def _chunked(self, source: tf.Tensor, max_length: int, values: list, lean: bool):
        """Width-1 decoding in chunks, compacting the batch to the unfinished sequences
        (:func:`~seq2seq.decoding.compaction.decode_in_chunks`): ``Hypotheses``. The
        compiled functions are concrete ones (their calls skip ``tf.function``'s dispatch)."""
        scalar = tf.TensorSpec([], tf.int32)
        if lean not in self._start_fn:
            self._start_fn[lean] = tf.function(
                _with_lean(self.begin, lean), jit_compile=self.jit_compile,
                input_signature=[tf.TensorSpec([None, None], tf.int32), scalar, scalar,
                                 *self._value_specs],
            ).get_concrete_function()  # fmt: skip
        stop = tf.constant(stop_alive(int(source.shape[0])))
        first = self._start_fn[lean](source, tf.constant(max_length), stop, *values)
        if lean not in self._loop_fn:
            # Every axis may vary between batches (e.g. an attention memory's source length).
            state_spec = tf.nest.map_structure(
                lambda x: tf.TensorSpec([None] * x.shape.rank, x.dtype), first[0]
            )
            self._loop_fn[lean] = tf.function(
                _with_lean(self.run, lean), jit_compile=self.jit_compile,
                input_signature=[scalar, scalar, scalar, state_spec, *self._value_specs],
            ).get_concrete_function()  # fmt: skip
        ids, scores = decode_in_chunks(first, self._loop_fn[lean], max_length, values)
        return Hypotheses(ids=ids, scores=scores)


def _with_lean(fn: Any, lean: bool) -> Any:
    """``fn`` with ``lean=`` given (``tf.function`` takes a partial's keywords as inputs)."""
    return lambda *args: fn(*args, lean=lean)
