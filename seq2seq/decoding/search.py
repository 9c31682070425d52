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
    def _search(self, source, max_length, n_best, *param_values):
        params = dict(zip(self.params, param_values, strict=True))
        batch = tf.shape(source)[0]
        width = self.width(**params)
        h, c = self.model.encoder(source, training=False)
        # One copy of the encoder state per hypothesis: [batch * width, units].
        h = tf.repeat(h, width, axis=0)
        c = tf.repeat(c, width, axis=0)
        # Only slot 0 is alive at the start, so beam search does not expand copies.
        first = tf.one_hot(tf.zeros([batch], tf.int32), width, on_value=0.0, off_value=NEG_INF)
        scores = tf.reshape(first, [batch, width])
        tokens = tf.fill([batch, width], tf.constant(START_ID, tf.int32))
        finished = tf.zeros([batch, width], tf.bool)
        lengths = tf.zeros([batch, width], tf.int32)
        # A fixed-size output buffer (static shapes let XLA compile the whole loop).
        seqs = tf.fill([batch, width, max_length], tf.constant(PAD_ID, tf.int32))
        positions = tf.range(max_length)[None, None, :]
        # Finished rows may only continue with PAD, at no cost.
        pad_only = tf.where(tf.range(self.vocab_size) == PAD_ID, 0.0, NEG_INF)

        def keep_going(t, tokens, h, c, scores, finished, lengths, seqs):
            return tf.logical_and(t < max_length, tf.logical_not(tf.reduce_all(finished)))

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

        steps, _, _, _, scores, _, lengths, seqs = tf.while_loop(
            keep_going,
            step,
            [tf.constant(0), tokens, h, c, scores, finished, lengths, seqs],
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
        ranked = self.final_scores(scores, lengths, **params)
        n = tf.minimum(n_best, width)
        top_scores, order = tf.math.top_k(ranked, k=n)
        return tf.gather(seqs, order, batch_dims=1), top_scores, steps

    def __call__(
        self, source_ids: np.ndarray | tf.Tensor, max_length: int, n_best: int = 1, **params
    ) -> Hypotheses:
        """Decodes a right-padded ``[batch, time]`` batch of source ids.

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
        ids, scores, steps = self._decode(
            tf.convert_to_tensor(source_ids, tf.int32),
            tf.constant(max_length, tf.int32),
            tf.constant(n_best, tf.int32),
            *values,
        )
        return Hypotheses(ids=ids.numpy()[:, :, : int(steps)], scores=scores.numpy())


class GreedyDecoder(Decoder):
    """The most probable token at every step."""

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
