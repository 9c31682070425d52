"""Greedy search: the most probable token at every step."""

from __future__ import annotations

import tensorflow as tf

from seq2seq.decoding.search import SEARCH_RULES, SearchRule


@SEARCH_RULES.register("greedy")
class GreedySearch(SearchRule):
    """The most probable token at every step (one hypothesis per sequence)."""

    compact_from = 128

    def select(self, log_probs, scores, step):
        best = tf.argmax(log_probs, axis=-1, output_type=tf.int32)  # [batch, 1]
        gained = tf.gather(log_probs, best, batch_dims=2)
        return best, tf.zeros_like(best), scores + gained
