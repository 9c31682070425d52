"""Training-step cost of the real model at a fixed batch shape, across settings.

Builds the model with :func:`seq2seq.models.build_model` (the fra-eng configuration by default:
bidirectional LSTM encoder, Luong attention, 128 units, 64-dim embeddings), compiles it with
:func:`seq2seq.training.compile_model`, and times ``train_on_batch`` on one batch of random ids
of ``source_length`` x ``target_length`` (no padding), for every combination of vocabulary
size, dropout and precision asked for. Each combination is timed ``repeats`` times after three
warm-up steps; the report gives the median milliseconds per batch and pairs per second (and
the epoch time that implies for ``epoch_pairs`` pairs). This separates what a setting costs
per step from how a corpus pads its batches. Run with::

    s2s-benchmark step vocab_sizes=100,2000,4000 dropout=0,0.2 precision=float32,mixed_bfloat16
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time
from typing import Any

import keras
import numpy as np
import yaml

from seq2seq.bench.train import TRAINER_DEFAULTS
from seq2seq.models import build_model
from seq2seq.settings import TrainerSettings
from seq2seq.training import compile_model, dtype_policy

log = logging.getLogger(__name__)


def time_steps(model: Any, batch: tuple[dict[str, np.ndarray], np.ndarray], repeats: int):
    """Median seconds of ``train_on_batch`` over ``repeats`` steps, after 3 warm-up steps."""
    inputs, labels = batch
    for _ in range(3):
        model.train_on_batch(inputs, labels)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.train_on_batch(inputs, labels)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def random_batch(vocab: int, batch: int, source: int, target: int, seed: int = 0):
    """Random non-reserved ids: ``({"source", "target_in"}, target_out)``."""
    rng = np.random.default_rng(seed)
    ids = lambda length: rng.integers(4, vocab, (batch, length), dtype=np.int32)  # noqa: E731
    return {"source": ids(source), "target_in": ids(target)}, ids(target)


def run_step_benchmark(
    vocab_sizes: tuple[int, ...] = (100, 2000, 4000),
    dropout: tuple[float, ...] = (0.0,),
    precision: tuple[str, ...] = ("float32",),
    source_length: int = 10,
    target_length: int = 10,
    batch_size: int = 128,
    units: int = 128,
    repeats: int = 10,
    epoch_pairs: int = 73_511,
) -> dict[str, Any]:
    """The report: one row per (vocabulary size, dropout, precision)."""
    trainer = TrainerSettings.from_config(
        {**yaml.safe_load(TRAINER_DEFAULTS.read_text(encoding="utf-8")), "optimizer": "adam"}
    )
    rows = []
    for vocab, rate, policy in itertools.product(vocab_sizes, dropout, precision):
        keras.utils.set_random_seed(0)
        with dtype_policy(policy):
            model = build_model("lstm", vocab, vocab, units=units, embedding_dim=64,
                                bidirectional=True, attention="luong", dropout=rate)  # fmt: skip
            compile_model(model.training, trainer)
        batch = random_batch(vocab, batch_size, source_length, target_length)
        seconds = time_steps(model.training, batch, repeats)
        row = {"vocab_size": vocab, "dropout": rate, "precision": policy,
               "ms_per_batch": round(seconds * 1000, 1),
               "pairs_per_second": round(batch_size / seconds),
               "epoch_seconds": round(epoch_pairs / batch_size * seconds)}  # fmt: skip
        log.info("%s", row)
        rows.append(row)
        keras.backend.clear_session()
    shape = {"batch_size": batch_size, "source_length": source_length,
             "target_length": target_length, "units": units, "repeats": repeats}  # fmt: skip
    return {"shape": shape, "rows": rows}
