"""The model phase: a new model, a resumed checkpoint's, or one starting from
``trainer.init_from``'s weights; compiled with the configured optimizer and loss."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras

from seq2seq.errors import Seq2SeqError
from seq2seq.losses import SmoothedSparseCategoricalCrossentropy
from seq2seq.models import Seq2SeqModel, build_model, load_model
from seq2seq.options.trainer import OPTIMIZERS
from seq2seq.rundir import MODEL_FILE, VOCAB_FILE, Checkpoint, RunDir
from seq2seq.settings import TrainerSettings, TrainSettings
from seq2seq.training.vocabularies import Vocabularies

log = logging.getLogger(__name__)


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Keras's global dtype policy set to ``name`` for the ``with`` block."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def inference_model(model: Seq2SeqModel, vocabs: Vocabularies, settings: TrainSettings):
    """The model that decodes, is saved as ``model.keras`` and is scored: the training model
    itself, or with ``trainer.precision=mixed_bfloat16`` its float32 twin (the same float32
    weights, copied in after every epoch, computing in float32), so that translation, export
    and evaluation never see bfloat16."""
    if settings.trainer.precision == "float32":
        return model
    twin = new_model(vocabs, settings, "float32")
    copy_weights(model, twin)
    return twin


def copy_weights(source: Seq2SeqModel, target: Seq2SeqModel) -> None:
    """``target`` gets ``source``'s weights (no-op when they are the same model)."""
    if target is not source:
        target.training.set_weights(source.training.get_weights())


def build_or_resume(
    run: RunDir, checkpoint: Checkpoint | None, vocabs: Vocabularies, settings: TrainSettings
) -> tuple[Seq2SeqModel, Checkpoint | None]:
    """A new compiled model, or the newest loadable checkpoint's (weights and optimizer
    state) with that checkpoint (a damaged newest one falls back to the one before)."""
    if checkpoint is not None:
        model, checkpoint = load_checkpoint(run)
        refuse_mismatch(model, new_model(vocabs, settings, "float32"), checkpoint.path)
        run.truncate_history(checkpoint.epoch + 1)
        log.info("resuming from %s: %d epoch(s) done", checkpoint.path, checkpoint.epoch + 1)
        return model, checkpoint
    model = new_model(vocabs, settings, settings.trainer.precision)
    if settings.trainer.init_from:
        init_weights(model, settings)
    log.info("model: %s parameters", f"{model.training.count_params():,}")
    return model, None


def init_weights(model: Seq2SeqModel, settings: TrainSettings) -> None:
    """Copies the weights of the run ``trainer.init_from`` into ``model`` (fine-tuning):
    that run's ``model.*`` settings must be these, and its model must have these shapes."""
    init = RunDir(Path(str(settings.trainer.init_from)))
    init.require(MODEL_FILE, VOCAB_FILE)
    there = dict(init.read_config().get("model") or {})
    here = dict(settings.resolved.get("model") or {})
    # A key only one side has is a setting the code that trained that run did not know.
    differ = sorted(k for k in there.keys() & here.keys() if there[k] != here[k])
    if differ:
        key = differ[0]
        raise Seq2SeqError(
            f"trainer.init_from={init.path} has model.{key}={there.get(key)!r}, this run"
            f" {here.get(key)!r}: fine-tuning needs the same model settings"
        )
    source = load_model(init.model_file)
    refuse_mismatch(source, model, init.model_file)
    model.training.set_weights(source.training.get_weights())
    log.info("starting from the weights of %s", init.model_file)


def new_model(vocabs: Vocabularies, settings: TrainSettings, precision: str) -> Seq2SeqModel:
    """A new compiled model of the configured family, its layers computing in ``precision``
    (a Keras dtype policy: ``float32`` or ``mixed_bfloat16``)."""
    with dtype_policy(precision):
        model = build_model(
            settings.model_name,
            len(vocabs.source),
            len(vocabs.target),
            **asdict(settings.model_options),
        )
    compile_model(model.training, settings.trainer)
    return model


def refuse_mismatch(saved: Seq2SeqModel, expected: Seq2SeqModel, where: Path) -> None:
    """Refuses to resume a checkpoint whose model is not the one the settings build (an
    edited ``config.yaml`` must not make a 16-unit model resume "as" 32 units): the layers'
    names and every weight's shape must be the same."""

    def shapes(model: Seq2SeqModel) -> dict[str, list[tuple[int, ...]]]:
        return {
            layer.name: [tuple(w.shape) for w in layer.weights] for layer in model.training.layers
        }

    have, want = shapes(saved), shapes(expected)
    if have != want:
        differs = sorted(
            name for name in have.keys() | want.keys() if have.get(name) != want.get(name)
        )
        raise Seq2SeqError(
            f"cannot start from {where}: its model does not match the run's settings"
            f" (layers {', '.join(differs[:4])} differ; was config.yaml edited?)"
        )


def load_checkpoint(run: RunDir) -> tuple[Seq2SeqModel, Checkpoint]:
    """The newest checkpoint that loads, newest first; an error when none does."""
    failures = []
    for checkpoint in reversed(run.checkpoints()):
        try:
            return load_model(checkpoint.model_file, compile=True), checkpoint
        except Seq2SeqError as exc:
            log.warning("skipping damaged checkpoint: %s", exc)
            failures.append(checkpoint.path.name)
    raise Seq2SeqError(
        f"cannot resume {run.path}: no checkpoint loads ({', '.join(failures)} damaged)"
    )


def compile_model(training: keras.Model, trainer: TrainerSettings) -> None:
    """Compiles with the configured optimizer and the masked (per-character) loss."""
    optimizer_config: dict[str, Any] = {"learning_rate": trainer.learning_rate}
    if trainer.clipnorm:
        optimizer_config["clipnorm"] = trainer.clipnorm
    if trainer.optimizer in ("adam", "adamw"):
        optimizer_config["beta_2"] = trainer.beta_2
    optimizer = keras.optimizers.get(
        {"class_name": OPTIMIZERS[trainer.optimizer], "config": optimizer_config}
    )
    # PAD positions carry a Keras mask (Embedding/OneHot mask_zero), so loss and accuracy
    # are averaged over real target characters only.
    # Under tf.distribute, the custom loss also makes the mean global (losses.replica_share).
    loss = (
        SmoothedSparseCategoricalCrossentropy(trainer.label_smoothing)
        if trainer.label_smoothing or trainer.distribute
        else keras.losses.SparseCategoricalCrossentropy()
    )
    training.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=trainer.jit_compile,
    )
