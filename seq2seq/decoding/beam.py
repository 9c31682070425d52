"""Beam search with a GNMT length penalty."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from seq2seq.checks import non_negative, positive
from seq2seq.decoding.search import MAX_WIDTH, SEARCH_RULES, SearchRule


@dataclass(frozen=True)
class BeamParams:
    """Parameters of beam search.

    Attributes:
        beam_size: partial translations kept at every step.
        length_penalty: GNMT alpha; a candidate's final score is
            ``log p / ((5 + length) / 6) ** alpha`` (0 = off, larger favours longer outputs).
    """

    beam_size: int = 5
    length_penalty: float = 0.6

    def __post_init__(self) -> None:
        positive("decoding.beam_size", self.beam_size, at_most=MAX_WIDTH)
        non_negative("decoding.length_penalty", self.length_penalty, float, at_most=100.0)


@SEARCH_RULES.register("beam")
class BeamSearch(SearchRule):
    """Keeps the ``beam_size`` best partial translations at every step."""

    Params = BeamParams
    reorders = True

    @classmethod
    def max_candidates(cls, params: BeamParams) -> int:
        return params.beam_size

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
