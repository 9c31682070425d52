"""Training on several devices or machines with TensorFlow's own engine (``tf.distribute``).

``trainer.distribute``:

* ``null``: one device (TensorFlow's default strategy);
* ``mirrored``: :class:`tf.distribute.MirroredStrategy` over all local devices;
* ``multi_worker``: :class:`tf.distribute.MultiWorkerMirroredStrategy`, the cluster read from
  ``TF_CONFIG`` or, inside a SLURM job without ``TF_CONFIG``, from SLURM's variables
  (:class:`tf.distribute.cluster_resolver.SlurmClusterResolver`).

A strategy must exist before TensorFlow runs any other op, so training creates it first.
Exactly one process, the chief, writes the run directory; the other workers train into a
scratch directory of their own (:func:`seq2seq.training.train`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from seq2seq.errors import Seq2SeqError

log = logging.getLogger(__name__)
STRATEGIES = ("mirrored", "multi_worker")


@dataclass(frozen=True)
class Distribution:
    """The strategy training runs under, and this process's place in it."""

    strategy: tf.distribute.Strategy
    kind: str | None = None  # trainer.distribute
    is_chief: bool = True
    num_workers: int = 1
    worker: str = "chief"

    def any_worker(self, flag: bool) -> bool:
        """True when ``flag`` is true on any worker: every worker must call this at the same
        point (an all-reduce), so that all of them take the same decision."""
        if self.num_workers == 1:
            return flag
        value = tf.constant(1.0 if flag else 0.0)
        summed = self.strategy.reduce(
            tf.distribute.ReduceOp.SUM, self.strategy.run(lambda: tf.identity(value)), axis=None
        )
        return float(summed) > 0


def make_distribution(kind: str | None) -> Distribution:
    """The strategy of ``trainer.distribute`` (call before any other TensorFlow op).

    Raises:
        Seq2SeqError: an unknown kind, or ``multi_worker`` without a cluster description.
    """
    if kind is None:
        return Distribution(tf.distribute.get_strategy())
    if kind == "mirrored":
        # All GPUs; without any, every CPU device (one, unless the CPU was split into
        # logical devices with tf.config.set_logical_device_configuration).
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
        log.info("mirrored training on %d device(s): %s", len(devices), ", ".join(devices))
        return Distribution(strategy, kind)
    if kind == "multi_worker":
        return _multi_worker()
    raise Seq2SeqError(
        f"trainer.distribute={kind!r} is unknown; choose null or one of {list(STRATEGIES)}"
    )


def _multi_worker() -> Distribution:
    _patch_keras_multi_worker_mean()
    resolver = cluster_resolver()
    spec = resolver.cluster_spec().as_dict()
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    # The chief is the "chief" task, or worker 0 of a cluster without one.
    is_chief = task_type == "chief" or (
        task_type == "worker" and task_id == 0 and "chief" not in spec
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    workers = sum(len(spec.get(t, [])) for t in ("chief", "worker"))
    name = f"{task_type} {task_id}"
    if is_chief:  # (a worker's log file is still the chief's until it leaves it)
        log.info(
            "multi-worker training: %d worker(s), %d replica(s); this is the chief",
            workers,
            strategy.num_replicas_in_sync,
        )
    return Distribution(strategy, "multi_worker", is_chief, workers, name)


def cluster_resolver() -> tf.distribute.cluster_resolver.ClusterResolver:
    """The cluster from ``TF_CONFIG``, else from SLURM's environment, else an error."""
    raw = os.environ.get("TF_CONFIG")
    if raw:
        try:
            check_tf_config(json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Seq2SeqError(
                f"TF_CONFIG is not a cluster description ({type(exc).__name__}: {exc});"
                ' expected {"cluster": {"worker": ["host:port", ...]},'
                ' "task": {"type": "worker", "index": 0}}'
            ) from None
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if os.environ.get("SLURM_JOB_ID"):
        return tf.distribute.cluster_resolver.SlurmClusterResolver()
    raise Seq2SeqError(
        "trainer.distribute=multi_worker needs the cluster in TF_CONFIG (or a SLURM job);"
        " see docs/scaling.md"
    )


#: The task types multi-worker training has (no parameter servers: ``ps`` is not one).
TASK_TYPES = ("chief", "worker")


def check_tf_config(config: dict) -> None:
    """Checks a parsed ``TF_CONFIG``: chief/worker task lists of ``host:port`` addresses
    (port 1-65535), and this task's type and index within them.

    Raises:
        ValueError, KeyError, TypeError: what is wrong, in words.
    """
    cluster, task = config["cluster"], config["task"]
    unknown = sorted(set(cluster) - set(TASK_TYPES))
    if unknown or task["type"] not in TASK_TYPES:
        raise ValueError(f"task types must be chief or worker, got {unknown or task['type']}")
    for kind, addresses in cluster.items():
        for address in addresses:
            host, sep, port = str(address).rpartition(":")
            if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f"{kind} address {address!r} is not host:port")
    index = task["index"]
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"task index must be an integer, got {index!r}")
    if not 0 <= index < len(cluster.get(task["type"], [])):
        raise ValueError(f"task index {index} is outside the {task['type']} list")


def build_before_fit(model: keras.Model, sample: tf.data.Dataset, dist: Distribution) -> None:
    """Builds a compiled model's metrics, loss and optimizer from the first batch of
    ``sample`` (the validation set) before ``fit`` and stops Keras from building them from a
    training batch.

    Under a strategy, Keras 3 draws a batch from the distributed training iterator and
    reduces it with ``strategy.reduce``, which fails for dict inputs under
    ``MultiWorkerMirroredStrategy`` (keras-team/keras#20329), and under any strategy moves
    the reshuffled epochs one order on (the run then differs from a single-device one). No-op
    without a strategy. Uses Keras's private ``_symbolic_build``: a workaround for that bug.
    """
    if dist.kind is None:
        return
    with dist.strategy.scope():
        model._symbolic_build(data_batch=next(iter(sample)))
    model._maybe_symbolic_build = _already_built


def _already_built(iterator: Any = None, data_batch: Any = None) -> None:
    """Replaces Keras's ``_maybe_symbolic_build`` once :func:`build_before_fit` built all."""


def _patch_keras_multi_worker_mean() -> None:
    """Works around a Keras 3 bug that stops ``fit`` under ``MultiWorkerMirroredStrategy``
    at its first step (tensorflow/tensorflow#72388, "Invalid reduction dimension 0 for input
    with 0 dimensions"): Keras averages each worker's scalar logs with
    ``strategy.reduce("MEAN", v, axis=0)``; scalars need ``axis=None``. Only that case is
    changed; everything else goes to Keras's own ``reduce_per_replica``."""
    from keras.src.backend.tensorflow import trainer as keras_trainer

    original = keras_trainer.reduce_per_replica
    if getattr(original, "seq2seq_patch", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        multi_worker = keras_trainer._collective_all_reduce_multi_worker(strategy)
        if multi_worker and reduction in ("auto", "mean"):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None if v.shape.rank == 0 else 0),
                values,
            )
        return original(values, strategy, reduction)

    reduce_per_replica.seq2seq_patch = True
    keras_trainer.reduce_per_replica = reduce_per_replica
