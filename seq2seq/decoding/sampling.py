"""Random sampling from the softmax, with temperature and top-k."""

from __future__ import annotations

import tensorflow as tf

from seq2seq.decoding.search import NEG_INF, SEARCH_RULES, SearchRule
from seq2seq.options.decoding import SamplingParams


@SEARCH_RULES.register("sample")
class RandomSampling(SearchRule):
    """Samples each token from the softmax at ``temperature``, optionally among the ``top_k``.

    Reproducible for a given ``seed`` (stateless random ops keyed by seed and step).
    """

    Params = SamplingParams
    exportable = False  # a serving graph that draws at random is not reproducible

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
