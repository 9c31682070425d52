"""The textbook step-by-step greedy loop: one sequence, one oracle-model call per character.

Slow on purpose; it is the oracle the compiled search is tested against, and (called
through ``model.predict``) the Keras example's decoder the benchmark times. It uses only the
model contract's Keras oracle models, whatever the model's state holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from seq2seq.models.base import Seq2SeqModel
from seq2seq.vocab import END_ID, PAD_ID, START_ID

Encode = Callable[[np.ndarray], Any]
Step = Callable[[np.ndarray, Any], tuple[Any, Any]]


def greedy_loop(encode: Encode, step: Step, source: np.ndarray, max_length: int) -> list[int]:
    """Greedy-decodes one ``[1, time]`` source: ``encode(source) -> state``, then
    ``step([[token]], state) -> ([1, vocab] probs, state)`` once per emitted id.

    Returns the emitted ids up to and including END.
    """
    state = encode(source)
    token = np.array([[START_ID]], np.int32)
    out: list[int] = []
    for _ in range(max_length):
        probs, state = step(token, state)
        next_id = int(np.argmax(np.asarray(probs)[0]))
        out.append(next_id)
        if next_id == END_ID:
            break
        token = np.array([[next_id]], np.int32)
    return out


def greedy_decode_reference(
    model: Seq2SeqModel, source_ids: np.ndarray, max_length: int
) -> list[list[int]]:
    """Greedy-decodes each row of ``source_ids`` on its own (padding stripped) with the
    oracle models.

    Returns, per source row, the emitted ids up to and including END.
    """

    def encode(source: np.ndarray) -> list:
        return model.reference_encode(tf.constant(source))

    results = []
    for row in np.asarray(source_ids, np.int32):
        src = row[row != PAD_ID][None, :] if (row != PAD_ID).any() else row[None, :]
        results.append(greedy_loop(encode, model.reference_step, src, max_length))
    return results
