"""The textbook step-by-step greedy loop: one sequence, one decoder call per character.

Slow on purpose; it is the oracle the compiled decoder is tested against.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seq2seq.model import Seq2Seq
from seq2seq.vocab import END_ID, PAD_ID, START_ID


def greedy_decode_reference(
    model: Seq2Seq, source_ids: np.ndarray, max_length: int
) -> list[list[int]]:
    """Greedy-decodes each row of ``source_ids`` on its own (padding stripped).

    Returns, per source row, the emitted ids up to and including END.
    """
    results = []
    for row in np.asarray(source_ids, np.int32):
        src = row[row != PAD_ID][None, :] if (row != PAD_ID).any() else row[None, :]
        h, c = model.encoder(tf.constant(src), training=False)
        token = tf.constant([[START_ID]], tf.int32)
        out: list[int] = []
        for _ in range(max_length):
            probs, h, c = model.decoder_step([token, h, c], training=False)
            next_id = int(np.argmax(np.asarray(probs)[0, -1]))
            out.append(next_id)
            if next_id == END_ID:
                break
            token = tf.constant([[next_id]], tf.int32)
        results.append(out)
    return results
