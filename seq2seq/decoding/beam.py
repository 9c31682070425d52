"""Beam search with a GNMT length penalty."""

from __future__ import annotations

import tensorflow as tf

from seq2seq.decoding.search import SEARCH_RULES, SearchRule
from seq2seq.options.decoding import BeamParams


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
        total = tf.reshape(tf.expand_dims(scores, -1) + log_probs, [batch, width * vocab])
        new_scores, flat = tf.math.top_k(total, k=beam_size)
        return flat % vocab, flat // vocab, new_scores

    def final_scores(self, scores, lengths, beam_size, length_penalty):
        penalty = tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, length_penalty)
        return scores / penalty
