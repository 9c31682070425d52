"""Random sampling from the softmax, with temperature and top-k."""

from __future__ import annotations

import random
from dataclasses import dataclass

import tensorflow as tf

from seq2seq.checks import non_negative, positive
from seq2seq.decoding.search import NEG_INF, SEARCH_RULES, SearchRule
from seq2seq.errors import Seq2SeqError


@dataclass(frozen=True)
class SamplingParams:
    """Parameters of sampling.

    Attributes:
        temperature: divides the log-probabilities; < 1 sharpens, > 1 flattens.
        top_k: sample among the k most probable tokens only (0 = all).
        seed: the draws are reproducible for a seed; ``None`` draws a fresh one.
    """

    temperature: float = 1.0
    top_k: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        positive("decoding.temperature", self.temperature, float, at_most=1000.0)
        non_negative("decoding.top_k", self.top_k)
        if self.seed is None:
            object.__setattr__(self, "seed", random.SystemRandom().randrange(1 << 24))
        elif isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise Seq2SeqError(f"seed must be an integer or null, got {self.seed!r}")
        elif not -(1 << 31) <= self.seed < (1 << 31):
            raise Seq2SeqError(f"seed must fit in 32 bits, got {self.seed!r}")


@SEARCH_RULES.register("sample")
class RandomSampling(SearchRule):
    """Samples each token from the softmax at ``temperature``, optionally among the ``top_k``.

    Reproducible for a given ``seed`` (stateless random ops keyed by seed and step).
    """

    Params = SamplingParams

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
