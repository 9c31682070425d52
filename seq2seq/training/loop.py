"""The fit phase: Keras's ``fit`` with the callbacks that checkpoint, log, decode
validation pairs and stop, and the checkpoint that marks the end of training."""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from seq2seq.callbacks import (
    EpochCheckpoint,
    EpochSummary,
    RequireTrainingPairs,
    TimeBudget,
    TrainingProgress,
    ValidationDecoding,
)
from seq2seq.distribute import Distribution
from seq2seq.errors import Seq2SeqError
from seq2seq.models import Seq2SeqModel
from seq2seq.rundir import RunDir
from seq2seq.schedules import ConstantRate, EpochDecay, StepSchedule, TimeDecay
from seq2seq.settings import TrainerSettings
from seq2seq.training.model import copy_weights
from seq2seq.training.vocabularies import Datasets
from seq2seq.translation import Translator

log = logging.getLogger(__name__)


class TrainingClock:
    """Training seconds over every resume: those before this process plus its own."""

    def __init__(self, before: float = 0.0) -> None:
        self.before = before
        self.started = time.perf_counter()

    def seconds(self) -> float:
        """Seconds of training so far."""
        return self.before + time.perf_counter() - self.started


@dataclass(frozen=True)
class Fitting:
    """What the fit phase works with besides the model and its data.

    Attributes:
        run: the run directory it checkpoints and logs into.
        trainer: the ``trainer.*`` settings.
        translator: decodes the validation samples (the float32 twin under bf16).
        val_pairs: the validation pairs, the first of which are decoded.
        clock: training seconds over every resume.
        dist: the distribution strategy and this worker's place in it.
    """

    run: RunDir
    trainer: TrainerSettings
    translator: Translator
    val_pairs: list[tuple[str, str]] | Any
    clock: TrainingClock
    dist: Distribution


class SyncWeights(keras.callbacks.Callback):
    """Copies the training model's weights into its float32 twin after every epoch, before
    validation decoding (``trainer.precision=mixed_bfloat16``)."""

    def __init__(self, source: Seq2SeqModel, target: Seq2SeqModel) -> None:
        super().__init__()
        self.source, self.target = source, target

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        copy_weights(self.source, self.target)


def fit(
    model: Seq2SeqModel, datasets: Datasets, fitting: Fitting, initial_epoch: int
) -> int | None:
    """Runs ``fit`` with the callbacks; a non-finite loss names the last good checkpoint.

    Returns:
        The epoch whose weights early stopping restored (None without early stopping).
    """
    trainer, twin = fitting.trainer, fitting.translator.model
    sync = [SyncWeights(model, twin)] if twin is not model else []
    callbacks = [
        *sync,  # first: validation decoding uses the float32 twin
        *training_callbacks(fitting, resumed=initial_epoch > 0),
    ]
    try:
        history = model.training.fit(
            datasets.train,
            validation_data=datasets.val,
            epochs=trainer.epochs,
            steps_per_epoch=trainer.steps_per_epoch,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=0,  # TrainingProgress reports, at a terminal or not (Keras's bar: stdout)
            shuffle=False,  # the dataset reshuffles itself every epoch
        )
    except tf.errors.OpError as exc:  # e.g. a streamed pairs file deleted while training
        marker = "Seq2SeqError: "
        if marker not in exc.message:
            raise
        reason = exc.message.split(marker, 1)[1].splitlines()[0]
        raise Seq2SeqError(f"reading the training pairs failed: {reason}") from None
    losses = history.history.get("loss", [])
    if not all(math.isfinite(v) for v in losses):
        last_good = fitting.run.latest_checkpoint()
        raise Seq2SeqError(
            f"training diverged (non-finite loss) at epoch {initial_epoch + len(losses)};"
            f" last good checkpoint: {last_good.path if last_good else 'none'}"
            " (lower trainer.learning_rate, then resume with trainer.resume=true)"
        )
    stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    if stopping and stopping[0].best_weights is not None:
        return int(stopping[0].best_epoch)
    return None


def end_training(model: Seq2SeqModel, fitting: Fitting, best_epoch: int | None) -> None:
    """Checkpoints the end of training (the final weights, ``ended``), so that a kill
    during the final save or evaluation resumes to exactly that: no more epochs."""
    run, trainer = fitting.run, fitting.trainer
    epochs = len(run.read_history())
    if epochs:
        run.write_checkpoint(
            model.training,
            epochs - 1,
            keep=trainer.keep_checkpoints,
            seconds=fitting.clock.seconds(),
            ended=True,
            best_epoch=best_epoch,
            target_epochs=trainer.epochs,
            target_minutes=trainer.max_minutes,
        )


def training_callbacks(fitting: Fitting, resumed: bool = False) -> list[keras.callbacks.Callback]:
    """The training callbacks; those that add to the epoch logs come before the loggers.
    Only the chief decodes validation pairs; stopping decisions are the same on every worker
    (the monitored losses are all-reduced, the time budget is agreed on)."""
    trainer, run, dist = fitting.trainer, fitting.run, fitting.dist
    found: list[keras.callbacks.Callback] = [RequireTrainingPairs()]
    if trainer.val_decoding_every and dist.is_chief:
        found.append(
            ValidationDecoding(
                fitting.translator,
                fitting.val_pairs[: trainer.val_decoding_samples],
                run.tensorboard_dir,
                every=trainer.val_decoding_every,
                num_examples=trainer.val_decoding_examples,
                num_images=trainer.val_decoding_images,
            )
        )
    found += watching_callbacks(trainer)
    found += schedule_callbacks(trainer, fitting.clock)
    if trainer.max_minutes:
        found.append(TimeBudget(trainer.max_minutes, agree=dist.any_worker,
                                clock=fitting.clock.seconds,
                                per_update=dist.num_workers == 1))  # fmt: skip
    return [
        *found,
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(run.history_file), append=resumed),
        keras.callbacks.TensorBoard(
            log_dir=str(run.tensorboard_dir), write_graph=False, update_freq="epoch"
        ),
        TrainingProgress(
            trainer.epochs,
            None if trainer.batch_tokens else trainer.batch_size,  # pairs per step
            trainer.progress_seconds,
            at_terminal=trainer.progress_bar and sys.stderr.isatty(),
        ),
        EpochSummary(trainer.epochs),
        # After the history row: a kill between the two leaves a row that resume drops.
        EpochCheckpoint(run, keep=trainer.keep_checkpoints, clock=fitting.clock.seconds),
    ]


def schedule_callbacks(
    trainer: TrainerSettings, clock: TrainingClock | None = None
) -> list[keras.callbacks.Callback]:
    """The learning-rate schedule: a cosine or linear decay over the epochs or, with
    ``trainer.max_minutes``, over the time budget (it anneals at the deadline, whatever the
    machine's speed), and a warm-up (in updates or minutes; then, for ``inverse_sqrt``, the
    decay) set before every update on top of it."""
    found: list[keras.callbacks.Callback] = []
    rate: Any = ConstantRate(trainer.learning_rate)
    by_time = trainer.decays_over_minutes and clock is not None
    warmup_seconds = 60.0 * trainer.warmup_minutes if clock is not None else 0.0
    if by_time:
        rate = TimeDecay(trainer.learning_rate, trainer.max_minutes, clock.seconds,
                         trainer.lr_schedule, start_seconds=warmup_seconds)  # fmt: skip
    elif trainer.lr_schedule in ("cosine", "linear"):
        epochs = EpochDecay(trainer.learning_rate, trainer.epochs, trainer.lr_schedule)
        found.append(epochs)
        rate = epochs.rate
    if trainer.deterministic and (by_time or warmup_seconds):
        log.warning("trainer.deterministic=true, but the learning rate follows the clock"
                    " (trainer.max_minutes or trainer.warmup_minutes): the learning rates, so"
                    " the weights, differ between runs")  # fmt: skip
    inverse_sqrt = trainer.lr_schedule == "inverse_sqrt"
    if trainer.warmup_steps or warmup_seconds or inverse_sqrt or by_time:
        found.append(StepSchedule(rate, trainer.warmup_steps, inverse_sqrt, every_update=by_time,
                                  warmup_seconds=warmup_seconds,
                                  clock=clock.seconds if clock else None))  # fmt: skip
    return found


def watching_callbacks(trainer: TrainerSettings) -> list[keras.callbacks.Callback]:
    """Early stopping and learning-rate reduction on a monitored metric, when configured."""
    found: list[keras.callbacks.Callback] = []
    if trainer.early_stopping:
        watch = trainer.early_stopping
        found.append(
            keras.callbacks.EarlyStopping(
                monitor=watch.monitor,
                mode=watch.mode,
                patience=watch.patience,
                restore_best_weights=True,
            )
        )
    if trainer.reduce_lr:
        watch = trainer.reduce_lr
        found.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=watch.monitor,
                mode=watch.mode,
                factor=watch.factor,
                patience=watch.patience,
                min_lr=watch.min_lr if watch.min_lr is not None else 1e-5,
            )
        )
    return found
