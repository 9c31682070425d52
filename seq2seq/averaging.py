"""Checkpoint averaging: the element-wise mean of several checkpoints' weights, one of the
cheapest quality gains in NMT (OpenNMT-py ``average_models``, fairseq
``average_checkpoints.py``). The checkpoints must hold the same model (layer names and weight
shapes); the average is written as a run directory that ``translate``, ``evaluate`` and
``export`` take like any other.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seq2seq.destinations import refuse_run_owned_dir
from seq2seq.errors import Seq2SeqError
from seq2seq.models import Seq2SeqModel, load_model
from seq2seq.rundir import CONFIG_FILE, VOCAB_FILE, Checkpoint, RunDir
from seq2seq.vocab.store import read_run_vocab, write_run_vocab

log = logging.getLogger(__name__)


def _shapes(model: Seq2SeqModel) -> list[tuple[str, tuple[int, ...]]]:
    return [(w.path, tuple(w.shape)) for w in model.training.weights]


def average_models(paths: Sequence[str | Path]) -> Seq2SeqModel:
    """The model of ``paths[0]`` with the mean of every listed model's weights.

    Raises:
        Seq2SeqError: no path, a model that does not load, or models of different shapes.
    """
    if not paths:
        raise Seq2SeqError("no checkpoints to average")
    models = [load_model(path) for path in paths]
    first = _shapes(models[0])
    for path, model in zip(paths[1:], models[1:], strict=True):
        if _shapes(model) != first:
            raise Seq2SeqError(
                f"cannot average {paths[0]} and {path}: their models differ in layers or shapes"
            )
    weights = [model.training.get_weights() for model in models]
    mean = [
        np.mean(np.stack(group), axis=0).astype(group[0].dtype)
        for group in zip(*weights, strict=True)
    ]
    models[0].training.set_weights(mean)
    return models[0]


def chosen_checkpoints(
    run: RunDir, last: int | None, epochs: Sequence[int] | None
) -> list[Checkpoint]:
    """The run's checkpoints to average: the ``last`` N, or those of the 1-based ``epochs``.

    Raises:
        Seq2SeqError: fewer checkpoints kept than asked for, or an epoch with none.
    """
    kept = run.checkpoints()
    if epochs:
        by_epoch = {c.epoch + 1: c for c in kept}
        missing = [e for e in epochs if e not in by_epoch]
        if missing:
            raise Seq2SeqError(
                f"{run.path} keeps no checkpoint of epoch(s) {missing}; it keeps"
                f" {sorted(by_epoch)} (trainer.keep_checkpoints decides how many)"
            )
        return [by_epoch[e] for e in epochs]
    if last is None or last < 1 or last > len(kept):
        raise Seq2SeqError(
            f"{run.path} keeps {len(kept)} checkpoint(s), so last={last} cannot be averaged"
            " (train with trainer.keep_checkpoints=N to keep more)"
        )
    return kept[-last:]


def write_averaged(run: RunDir, checkpoints: Sequence[Checkpoint], output_dir: str | Path) -> Path:
    """Averages ``checkpoints`` of ``run`` into a new run directory ``output_dir``
    (``model.keras`` plus the run's ``config.yaml`` and ``vocab.json``).

    Raises:
        Seq2SeqError: as :func:`average_models`, or an ``output_dir`` that is not new or empty.
    """
    out = refuse_run_owned_dir(output_dir, "output_dir")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise Seq2SeqError(f"output_dir {out} exists and is not an empty directory")
    run.require(CONFIG_FILE, VOCAB_FILE)
    model = average_models([c.model_file for c in checkpoints])
    averaged = RunDir(out)
    out.mkdir(parents=True, exist_ok=True)
    averaged.mark()
    shutil.copyfile(run.path / CONFIG_FILE, out / CONFIG_FILE)
    write_run_vocab(averaged, *read_run_vocab(run))  # with the files it names (tokenizer/)
    averaged.save_model(model.training)
    log.info("averaged epochs %s of %s into %s", [c.epoch + 1 for c in checkpoints], run.path,
             averaged.model_file)  # fmt: skip
    return out
