"""``train(settings)``: training as a story of named phases (``s2s-train`` is
:mod:`seq2seq.tasks.train`).

claim the run directory (:mod:`.claim`) -> seed -> data and vocabularies
(:mod:`.vocabularies`) -> build or resume the model (:mod:`.model`) -> fit (:mod:`.loop`)
-> save -> evaluate and report (:mod:`.report`). The run directory's files are named, read
and written by :mod:`seq2seq.rundir`."""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from seq2seq.distribute import Distribution, build_before_fit, make_distribution
from seq2seq.evaluation import signatures
from seq2seq.rundir import Checkpoint, RunDir
from seq2seq.settings import TrainSettings
from seq2seq.text import default_max_input_length, default_max_output_length
from seq2seq.training.claim import commit_launch, leave_log_files_in, start_together, wants_more
from seq2seq.training.loop import Fitting, TrainingClock, end_training, fit
from seq2seq.training.model import build_or_resume, copy_weights, inference_model
from seq2seq.training.precision import resolve_precision
from seq2seq.training.report import (
    check_optimized_metric,
    evaluate_averaged,
    evaluate_final,
    log_summary,
)
from seq2seq.training.vocabularies import (
    build_vocabularies,
    load_data,
    make_datasets,
    write_vocabularies,
)
from seq2seq.translation import Translator

log = logging.getLogger(__name__)
# What a non-chief worker leaves out of its scratch copy of the chief's run directory.
WORKER_SKIPS = shutil.ignore_patterns(".lock", "tensorboard", ".hydra")


def train(settings: TrainSettings, launch: dict[str, str] | None = None) -> float | None:
    """Trains a model as configured and fills the run directory.

    Args:
        settings: the parsed training config (:meth:`TrainSettings.from_config`).
        launch: the launch record to keep in the run directory (Hydra's ``.hydra/`` files).

    Returns:
        The value of ``settings.optimized_metric`` from ``metrics.json`` (for sweepers), or
        None.
    """
    dist = make_distribution(settings.trainer.distribute)  # before any other TensorFlow op
    if not dist.is_chief:
        return train_as_worker(settings, dist)
    run = RunDir(settings.output_dir)
    with contextlib.ExitStack() as held:
        checkpoint = start_together(run, settings, dist, held)
        return train_in(run, checkpoint, settings, dist, launch or {})


def train_as_worker(settings: TrainSettings, dist: Distribution) -> float | None:
    """A non-chief worker of multi-worker training: the same phases, into a scratch
    directory that is deleted afterwards. The chief's run directory is only read: when
    resuming, the scratch starts as its copy, so every worker resumes the same checkpoint."""
    chief = RunDir(settings.output_dir)
    leave_log_files_in(chief.path)
    with tempfile.TemporaryDirectory(prefix="seq2seq-worker-") as scratch:
        run = RunDir(Path(scratch) / "run")
        if settings.trainer.resume and chief.path.is_dir():
            shutil.copytree(chief.path, run.path, ignore=WORKER_SKIPS)
        log.info("%s: training into scratch %s (the chief writes %s)", dist.worker, run.path,
                 chief.path)  # fmt: skip
        with contextlib.ExitStack() as held:
            checkpoint = start_together(run, settings, dist, held)
            return train_in(run, checkpoint, settings, dist)


def train_in(
    run: RunDir,
    checkpoint: Checkpoint | None,
    settings: TrainSettings,
    dist: Distribution,
    launch: dict[str, str] | None = None,
) -> float | None:
    """The training phases, in a run directory this process holds. Every check (data,
    vocabularies, the model and its checkpoint) comes before the first change to what the
    run directory held (:func:`commit_launch`), so a refused launch changes nothing."""
    seed_everything(settings)
    splits = load_data(settings)
    check_optimized_metric(settings, has_test=bool(splits.test))
    vocabs = build_vocabularies(splits, run, resuming=checkpoint is not None, settings=settings)
    datasets = make_datasets(splits, vocabs, settings)
    settings, precision = resolve_precision(vocabs, settings, datasets, checkpoint is not None)
    with dist.strategy.scope():  # variables (and the optimizer's) mirrored across replicas
        model, checkpoint = build_or_resume(run, checkpoint, vocabs, settings)
    commit_launch(run, settings, launch)
    write_vocabularies(run, vocabs, splits)
    build_before_fit(model.training, datasets.val, dist)
    inference = inference_model(model, vocabs, settings)  # decodes, is saved and scored
    translator = Translator(
        inference,
        vocabs.source,
        vocabs.target,
        settings.decoding.max_length or default_max_output_length(vocabs.longest_target),
        default_max_input_length(vocabs.longest_source),
    )
    clock = TrainingClock(checkpoint.seconds if checkpoint else 0.0)
    if checkpoint is not None and checkpoint.ended and not wants_more(checkpoint, settings):
        log.info("training had ended (epoch %d, weights of epoch %d): saving and evaluating",
                 checkpoint.epoch + 1, (checkpoint.best_epoch or checkpoint.epoch) + 1)  # fmt: skip
    else:
        fitting = Fitting(run, settings.trainer, translator, splits.val, clock, dist)
        best = fit(model, datasets, fitting, checkpoint.epoch + 1 if checkpoint else 0)
        end_training(model, fitting, best)
    copy_weights(model, inference)  # the best epoch's, when early stopping restored them
    run.save_model(inference.training)
    log.info("saved %s", run.model_file)
    metrics = evaluate_final(inference, datasets, translator, splits, run, clock.seconds())
    metrics |= precision.metrics() if precision else {}
    if settings.trainer.average_last:
        metrics |= evaluate_averaged(run, settings.trainer.average_last, translator, splits)
    run.write_metrics({**metrics, **signatures()} if splits.test else metrics)
    log_summary(run, settings, metrics)
    return metrics.get(settings.optimized_metric) if settings.optimized_metric else None


def seed_everything(settings: TrainSettings) -> None:
    """A fresh Keras session, seeded (and deterministic ops) as configured."""
    keras.utils.clear_session()  # a fresh graph per job (Hydra multirun shares a process)
    if settings.seed is not None:
        keras.utils.set_random_seed(settings.seed)
    if settings.trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
