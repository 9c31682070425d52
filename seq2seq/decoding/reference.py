"""The textbook step-by-step greedy loop: one sequence, one oracle-model call per character.

Slow on purpose; it is the oracle the compiled search is tested against. It uses only the
model contract's Keras oracle models, whatever the model's state holds.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seq2seq.models.base import Seq2SeqModel
from seq2seq.vocab import END_ID, PAD_ID, START_ID


def greedy_decode_reference(
    model: Seq2SeqModel, source_ids: np.ndarray, max_length: int
) -> list[list[int]]:
    """Greedy-decodes each row of ``source_ids`` on its own (padding stripped).

    Returns, per source row, the emitted ids up to and including END.
    """
    results = []
    for row in np.asarray(source_ids, np.int32):
        src = row[row != PAD_ID][None, :] if (row != PAD_ID).any() else row[None, :]
        state = model.reference_encode(tf.constant(src))
        token = tf.constant([[START_ID]], tf.int32)
        out: list[int] = []
        for _ in range(max_length):
            probs, state = model.reference_step(token, state)
            next_id = int(np.argmax(np.asarray(probs)[0]))
            out.append(next_id)
            if next_id == END_ID:
                break
            token = tf.constant([[next_id]], tf.int32)
        results.append(out)
    return results
