"""Batched greedy decoding in one compiled ``tf.while_loop``.

The whole batch is encoded once; then the decoder-step model runs one step per iteration for
every sequence at the same time, feeding back the most probable character, until every
sequence has emitted END or ``max_length`` steps have run. Values that change per call
(``max_length``) are passed as tensors, so calls never retrace the graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seq2seq.model import Seq2Seq
from seq2seq.vocab import END_ID, PAD_ID, START_ID


class GreedyDecoder:
    """Compiled batched greedy decoder over a :class:`~seq2seq.model.Seq2Seq`."""

    def __init__(self, model: Seq2Seq) -> None:
        """Wraps ``model``'s encoder and decoder-step models (weights are shared, not copied)."""
        self.model = model
        self._decode = tf.function(
            self._decode_graph,
            input_signature=[
                tf.TensorSpec([None, None], tf.int32, name="source"),
                tf.TensorSpec([], tf.int32, name="max_length"),
            ],
        )

    def _decode_graph(self, source: tf.Tensor, max_length: tf.Tensor) -> tf.Tensor:
        state_h, state_c = self.model.encoder(source, training=False)
        batch = tf.shape(source)[0]
        token = tf.fill([batch, 1], tf.constant(START_ID, tf.int32))
        finished = tf.zeros([batch], tf.bool)
        outputs = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])

        def keep_going(t, token, h, c, finished, outputs):
            return tf.logical_and(t < max_length, tf.logical_not(tf.reduce_all(finished)))

        def step(t, token, h, c, finished, outputs):
            probs, h, c = self.model.decoder_step([token, h, c], training=False)
            next_id = tf.argmax(probs[:, -1, :], axis=-1, output_type=tf.int32)
            next_id = tf.where(finished, tf.constant(PAD_ID, tf.int32), next_id)
            outputs = outputs.write(t, next_id)
            finished = tf.logical_or(finished, tf.equal(next_id, END_ID))
            return t + 1, next_id[:, None], h, c, finished, outputs

        _, _, _, _, _, outputs = tf.while_loop(
            keep_going,
            step,
            [tf.constant(0, tf.int32), token, state_h, state_c, finished, outputs],
        )
        ids = outputs.stack()  # [steps, batch]
        ids = tf.cond(
            tf.equal(tf.size(ids), 0),
            lambda: tf.zeros([batch, 0], tf.int32),
            lambda: tf.transpose(ids),
        )
        return ids

    def __call__(self, source_ids: np.ndarray | tf.Tensor, max_length: int) -> np.ndarray:
        """Decodes a right-padded ``[batch, time]`` int32 batch of source ids.

        Args:
            source_ids: source character ids, ``PAD_ID``-padded on the right.
            max_length: the most output characters per sequence (END included).

        Returns:
            ``[batch, steps]`` target ids; each row ends at END, then PAD.
        """
        source = tf.convert_to_tensor(source_ids, tf.int32)
        return self._decode(source, tf.constant(max_length, tf.int32)).numpy()


def greedy_decode_reference(
    model: Seq2Seq, source_ids: np.ndarray, max_length: int
) -> list[list[int]]:
    """The textbook step-by-step loop, one sequence at a time (slow; a test oracle).

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
