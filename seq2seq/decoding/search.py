"""One compiled decode loop with small next-token rules (greedy, beam search, sampling).

The loop (:class:`Decoder`) encodes a batch once, then runs the decoder-step model one step
per ``tf.while_loop`` iteration for every hypothesis of every sequence at once, stopping as
soon as all hypotheses have emitted END or ``max_length`` steps have run. A hypothesis that has
emitted END continues only with PAD at no cost, so finished rows stay frozen.

A rule (a subclass) sees the step's log-probabilities ``[batch, width, vocab]`` and the
running scores ``[batch, width]`` and picks, for each of the ``width`` slots, the next token,
the slot it extends (its parent) and the new score. Greedy and sampling use one slot; beam
search uses ``beam_size``. Every per-call value (max length, beam size, temperature, top-k,
seed, length penalty) is passed as a tensor, so new values never retrace the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import tensorflow as tf

from seq2seq.model import Seq2Seq
from seq2seq.vocab import END_ID, PAD_ID, START_ID

NEG_INF = -1e9


@dataclass
class Hypotheses:
    """Decoder output: ``ids[batch, n, steps]`` (END then PAD-terminated) and ``scores[batch, n]``.

    Scores are summed log-probabilities of the emitted tokens (END included), divided by the
    length penalty for beam search; candidates are sorted best first.
    """

    ids: np.ndarray
    scores: np.ndarray


class Decoder:
    """The shared compiled loop; subclasses define :meth:`width` and :meth:`select`."""

    #: Whether the rule may pick a parent other than the slot itself (beam search); when
    #: False, the loop skips reordering the states, which keeps greedy decoding lean.
    reorders: ClassVar[bool] = False
    #: Batches at least this large decode in chunks of ``chunk_steps`` steps, dropping
    #: finished sequences between chunks (0 = never). Only for rules whose choices do not
    #: depend on a row's position in the batch (greedy; not sampling, whose random draws do).
    compact_from: ClassVar[int] = 0
    chunk_steps: ClassVar[int] = 6
    #: Extra per-call parameters: name -> (dtype, default).
    params: ClassVar[dict[str, tuple[tf.DType, float | int]]] = {}

    def __init__(self, model: Seq2Seq, jit_compile: bool = False) -> None:
        """Wraps ``model``'s encoder and decoder-step layers (weights shared, not copied).

        Args:
            model: the trained encoder-decoder.
            jit_compile: compile the per-step computation with XLA.
        """
        self.model = model
        self.vocab_size = int(model.decoder_step.outputs[0].shape[-1])
        signature = [
            tf.TensorSpec([None, None], tf.int32, name="source"),
            tf.TensorSpec([], tf.int32, name="max_length"),
            tf.TensorSpec([], tf.int32, name="n_best"),
        ] + [tf.TensorSpec([], dtype, name=name) for name, (dtype, _) in self.params.items()]
        self.jit_compile = bool(jit_compile)
        self._concrete = None
        self._start_fn = None
        self._loop_fn = None
        self._decode = tf.function(
            self._search, input_signature=signature, jit_compile=self.jit_compile
        )

    def _log_probs(self, tokens, h, c):
        probs, h, c = self.model.step(tokens, h, c)
        return tf.math.log(tf.maximum(probs, 1e-30)), h, c

    # --- rules -----------------------------------------------------------------------------
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

    # --- the loop --------------------------------------------------------------------------
    def _start(self, source, *param_values):
        """Encodes ``source``; returns the initial loop state ``(tokens, h, c, scores,
        finished, lengths)``, with ``width`` hypotheses per sequence."""
        params = dict(zip(self.params, param_values, strict=True))
        batch = tf.shape(source)[0]
        width = self.width(**params)
        h, c = self.model.encode(source)
        # One copy of the encoder state per hypothesis: [batch * width, units].
        h = tf.repeat(h, width, axis=0)
        c = tf.repeat(c, width, axis=0)
        # Only slot 0 is alive at the start, so beam search does not expand copies.
        first = tf.one_hot(tf.zeros([batch], tf.int32), width, on_value=0.0, off_value=NEG_INF)
        scores = tf.reshape(first, [batch, width])
        tokens = tf.fill([batch, width], tf.constant(START_ID, tf.int32))
        finished = tf.zeros([batch, width], tf.bool)
        lengths = tf.zeros([batch, width], tf.int32)
        return tokens, h, c, scores, finished, lengths

    def _loop(self, t0, budget, state, *param_values):
        """Runs steps ``t0 .. t0 + budget - 1`` (fewer if every hypothesis finishes).

        Returns the new state, the emitted tokens ``[batch, width, budget]`` (PAD after the
        last step run) and the number of steps run.
        """
        params = dict(zip(self.params, param_values, strict=True))
        tokens, h, c, scores, finished, lengths = state
        batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
        # A fixed-size output buffer (static shapes let XLA compile the whole loop).
        seqs = tf.fill([batch, width, budget], tf.constant(PAD_ID, tf.int32))
        positions = t0 + tf.range(budget)[None, None, :]
        # Finished rows may only continue with PAD, at no cost.
        pad_only = tf.where(tf.range(self.vocab_size) == PAD_ID, 0.0, NEG_INF)
        end = t0 + budget

        def keep_going(t, tokens, h, c, scores, finished, lengths, seqs):
            return tf.logical_and(t < end, tf.logical_not(tf.reduce_all(finished)))

        def step(t, tokens, h, c, scores, finished, lengths, seqs):
            log_probs, h, c = self._log_probs(tf.reshape(tokens, [-1]), h, c)
            vocab = tf.shape(log_probs)[-1]
            log_probs = tf.reshape(log_probs, [batch, width, vocab])
            log_probs = tf.where(finished[:, :, None], pad_only[None, None, :], log_probs)
            next_tokens, parents, scores = self.select(log_probs, scores, t, **params)
            if self.reorders:  # reorder every per-hypothesis tensor by parent slot
                flat_parents = tf.reshape(parents + tf.range(batch)[:, None] * width, [-1])
                h = tf.gather(h, flat_parents)
                c = tf.gather(c, flat_parents)
                finished = tf.gather(finished, parents, batch_dims=1)
                lengths = tf.gather(lengths, parents, batch_dims=1)
                seqs = tf.gather(seqs, parents, batch_dims=1)
            lengths += tf.cast(tf.logical_not(finished), tf.int32)
            seqs = tf.where(positions == t, next_tokens[:, :, None], seqs)
            finished = tf.logical_or(finished, tf.equal(next_tokens, END_ID))
            return t + 1, next_tokens, h, c, scores, finished, lengths, seqs

        t, tokens, h, c, scores, finished, lengths, seqs = tf.while_loop(
            keep_going,
            step,
            [t0, tokens, h, c, scores, finished, lengths, seqs],
            shape_invariants=[
                tf.TensorShape([]),
                tf.TensorShape([None, None]),
                h.shape,
                c.shape,
                tf.TensorShape([None, None]),
                tf.TensorShape([None, None]),
                tf.TensorShape([None, None]),
                tf.TensorShape([None, None, None]),
            ],
        )
        return (tokens, h, c, scores, finished, lengths), seqs, t - t0

    def _search(self, source, max_length, n_best, *param_values):
        state = self._start(source, *param_values)
        state, seqs, steps = self._loop(tf.constant(0), max_length, state, *param_values)
        _, _, _, scores, _, lengths = state
        params = dict(zip(self.params, param_values, strict=True))
        ranked = self.final_scores(scores, lengths, **params)
        n = tf.minimum(n_best, tf.shape(scores)[1])
        top_scores, order = tf.math.top_k(ranked, k=n)
        return tf.gather(seqs, order, batch_dims=1), top_scores, steps

    def __call__(
        self, source_ids: np.ndarray | tf.Tensor, max_length: int, n_best: int = 1, **params
    ) -> Hypotheses:
        """Decodes a right-padded ``[batch, time]`` batch of source ids.

        Large batches of greedy decoding are decoded in chunks of
        ``chunk_steps`` steps, dropping finished sequences between chunks, so one long output
        no longer makes the whole batch run to its length; results are the same.

        Args:
            source_ids: int32 source ids, ``PAD_ID``-padded on the right.
            max_length: the most output tokens per hypothesis (END included).
            n_best: hypotheses returned per sequence (at most the search width).
            **params: the rule's parameters (see the subclass's ``params``).
        """
        unknown = set(params) - set(self.params)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no parameter(s) {sorted(unknown)}")
        values = [
            tf.constant(params.get(name, default), dtype)
            for name, (dtype, default) in self.params.items()
        ]
        source = tf.convert_to_tensor(source_ids, tf.int32)
        if self.compact_from and not self.reorders and source.shape[0] >= self.compact_from:
            return self._chunked(source, int(max_length), values)
        if self._concrete is None:  # calling the one concrete function skips dispatch work
            self._concrete = self._decode.get_concrete_function()
        ids, scores, steps = self._concrete(
            source, tf.constant(max_length, tf.int32), tf.constant(n_best, tf.int32), *values
        )
        return Hypotheses(ids=ids.numpy()[:, :, : int(steps)], scores=scores.numpy())

    def _chunked(self, source: tf.Tensor, max_length: int, values: list) -> Hypotheses:
        """Width-1 decoding in chunks, compacting the batch to the unfinished sequences."""
        if self._start_fn is None:
            params = [tf.TensorSpec([], dtype) for dtype, _ in self.params.values()]
            units = self.model.units
            state = (
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([None, units], tf.float32),
                tf.TensorSpec([None, units], tf.float32),
                tf.TensorSpec([None, None], tf.float32),
                tf.TensorSpec([None, None], tf.bool),
                tf.TensorSpec([None, None], tf.int32),
            )
            self._start_fn = tf.function(
                self._start,
                input_signature=[tf.TensorSpec([None, None], tf.int32), *params],
                jit_compile=self.jit_compile,
            )
            self._loop_fn = tf.function(
                self._loop,
                input_signature=[
                    tf.TensorSpec([], tf.int32),
                    tf.TensorSpec([], tf.int32),
                    state,
                    *params,
                ],
                jit_compile=self.jit_compile,
            )
        batch = int(source.shape[0])
        ids = np.full((batch, max_length), PAD_ID, np.int32)
        final = np.zeros(batch, np.float32)
        active = np.arange(batch)  # original row of each real slot
        state = self._start_fn(source, *values)
        t = 0
        while True:
            budget = min(self.chunk_steps, max_length - t)
            state, seqs, steps = self._loop_fn(tf.constant(t), tf.constant(budget), state, *values)
            steps = int(steps)
            n = len(active)
            ids[active, t : t + steps] = seqs.numpy()[:n, 0, :steps]
            t += steps
            finished = state[4].numpy()[:n, 0]
            scores = state[3].numpy()[:n, 0]
            final[active] = scores
            keep = np.flatnonzero(~finished)
            if keep.size == 0 or t >= max_length:
                break
            size = _compact_size(int(keep.size))
            if size < n:  # compact: keep the unfinished rows (padded to a size from a few)
                index = np.concatenate([keep, np.full(size - keep.size, keep[0])])
                gathered = [tf.gather(x, index) for x in state]
                done = np.arange(size) >= keep.size  # padding slots start finished
                gathered[4] = tf.logical_or(gathered[4], tf.constant(done)[:, None])
                state = tuple(gathered)
                active = active[keep]
        return Hypotheses(ids=ids[:, None, :t], scores=final[:, None])


def _compact_size(n: int) -> int:
    """The batch size to compact ``n`` rows into: a power of 2 up to 64, then a multiple of
    64 (a small set of shapes, so XLA compiles the loop only a few times)."""
    if n <= 64:
        return 1 << (n - 1).bit_length()
    return -(-n // 64) * 64


class GreedyDecoder(Decoder):
    """The most probable token at every step."""

    compact_from = 128

    def select(self, log_probs, scores, step):
        best = tf.argmax(log_probs, axis=-1, output_type=tf.int32)  # [batch, 1]
        gained = tf.gather(log_probs, best, batch_dims=2)
        return best, tf.zeros_like(best), scores + gained


class BeamSearchDecoder(Decoder):
    """Beam search with a GNMT length penalty ``((5 + length) / 6) ** alpha``."""

    reorders = True

    params: ClassVar[dict[str, tuple[tf.DType, float | int]]] = {
        "beam_size": (tf.int32, 5),
        "length_penalty": (tf.float32, 0.0),
    }

    def width(self, beam_size, length_penalty):
        return beam_size

    def select(self, log_probs, scores, step, beam_size, length_penalty):
        batch, width, vocab = tf.unstack(tf.shape(log_probs))
        total = tf.reshape(scores[:, :, None] + log_probs, [batch, width * vocab])
        new_scores, flat = tf.math.top_k(total, k=beam_size)
        return flat % vocab, flat // vocab, new_scores

    def final_scores(self, scores, lengths, beam_size, length_penalty):
        penalty = tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, length_penalty)
        return scores / penalty


class SamplingDecoder(Decoder):
    """Samples each token from the softmax at ``temperature``, optionally among the ``top_k``.

    Reproducible for a given ``seed`` (stateless random ops keyed by seed and step).
    """

    params: ClassVar[dict[str, tuple[tf.DType, float | int]]] = {
        "temperature": (tf.float32, 1.0),
        "top_k": (tf.int32, 0),
        "seed": (tf.int32, 0),
    }

    def select(self, log_probs, scores, step, temperature, top_k, seed):
        vocab = tf.shape(log_probs)[-1]
        logits = log_probs[:, 0, :] / tf.maximum(temperature, 1e-6)
        k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
        kth = tf.math.top_k(logits, k=k).values[:, -1:]
        logits = tf.where(logits < kth, NEG_INF, logits)
        token = tf.random.stateless_categorical(
            logits, 1, seed=tf.stack([seed, step]), dtype=tf.int32
        )  # [batch, 1]
        gained = tf.gather(log_probs, token, batch_dims=2)
        return token, tf.zeros_like(token), scores + gained


DECODERS: dict[str, type[Decoder]] = {
    "greedy": GreedyDecoder,
    "beam": BeamSearchDecoder,
    "sample": SamplingDecoder,
}
