"""A tiny hand-written model that follows the model contract, for exact search-rule tests.

Vocabulary: PAD 0, START 1, END 2, UNK 3, ``a`` 4, ``b`` 5. The next-token probabilities are
a fixed table; the only memory is a nested state ``{"count": [batch], "flags": ([batch, 1],)}``
where ``flags`` says whether ``b`` was seen (fed to the decoder, or first in the source):

* a row that has seen ``b``:   END 0.9, a 0.05, b 0.05
* after START (no ``b`` seen): a 0.5,  b 0.4,  END 0.1
* after ``a`` (no ``b`` seen): a 0.4,  b 0.3,  END 0.3

So greedy decoding of an ordinary source runs ``a a a ...`` (END never wins), while beam
search finds ``b END`` (0.4 * 0.9 = 0.36). A source starting with ``b`` ends at once.
The state is a dict holding a tuple, so a search rule that looked inside it, or reordered it
wrongly, would fail.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

A, B = 4, 5
VOCAB = 6
SEEN_B = [0.0, 0.0, 0.9, 0.0, 0.05, 0.05]
AFTER_START = [0.0, 0.0, 0.1, 0.0, 0.5, 0.4]
AFTER_A = [0.0, 0.0, 0.3, 0.0, 0.4, 0.3]


class StubModel:
    """Follows :class:`seq2seq.models.base.Seq2SeqModel`'s ``encode`` / ``step`` contract."""

    target_vocab_size = VOCAB
    source_vocab_size = VOCAB

    def encode(self, source):
        source = tf.convert_to_tensor(source, tf.int32)
        seen = tf.cast(tf.equal(source[:, :1], B), tf.float32)  # [batch, 1]
        return {"count": tf.zeros([tf.shape(source)[0]], tf.int32), "flags": (seen,)}

    def step(self, tokens, state):
        seen = tf.logical_or(state["flags"][0][:, 0] > 0, tf.equal(tokens, B))
        table = tf.constant([SEEN_B, AFTER_START, AFTER_A], tf.float32)
        row = tf.where(seen, 0, tf.where(tf.equal(tokens, 1), 1, 2))
        probs = tf.gather(table, row)
        new_state = {
            "count": state["count"] + 1,
            "flags": (tf.cast(seen, tf.float32)[:, None],),
        }
        return probs, new_state


def sources(*first_tokens: int) -> np.ndarray:
    """A batch of two-token sources starting with the given tokens."""
    return np.array([[t, A] for t in first_tokens], np.int32)
