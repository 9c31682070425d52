"""Losses (registered for ``safe_mode`` loading)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from seq2seq.vocab import PAD_ID


@keras.saving.register_keras_serializable(package="seq2seq")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing, per token.

    Returns one value per target position, so the Keras mask carried by the predictions
    (padding) is applied and the mean runs over real target characters only. Under a
    ``tf.distribute`` strategy of several replicas, that mean is over the real characters of
    the *global* batch, not a mean of the replicas' means (see :func:`replica_share`).
    """

    def __init__(
        self, label_smoothing: float = 0.0, name: str = "smoothed_sparse_crossentropy", **kwargs
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        labels = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[-1])
        losses = keras.losses.categorical_crossentropy(
            labels, y_pred, label_smoothing=self.label_smoothing
        )
        return losses * replica_share(y_true)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def replica_share(y_true) -> tf.Tensor | float:
    """The factor that turns a replica's masked mean into its share of the global one.

    Keras reduces a replica's loss to the mean over its own real characters and divides it by
    the number of replicas N; the replicas' gradients are then summed. Scaling the per-character
    losses by ``N * local characters / global characters`` makes that sum the gradient of the
    mean over all real characters of the global batch, however unevenly the replicas' shares
    of padding fall. 1 outside a strategy of several replicas.
    """
    context = tf.distribute.get_replica_context()
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if context is None or replicas == 1:
        return 1.0
    local = tf.reduce_sum(tf.cast(tf.not_equal(y_true, PAD_ID), tf.float32))
    total = context.all_reduce(tf.distribute.ReduceOp.SUM, local)
    return tf.stop_gradient(tf.math.divide_no_nan(replicas * local, total))
