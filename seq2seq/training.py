"""``train(settings)``: training as a story of named phases (``s2s-train`` is
:mod:`seq2seq.tasks.train`).

guard the run directory -> seed -> load data -> vocabularies -> datasets -> build or resume
the model -> fit -> save -> evaluate -> report. Each phase is a function below; the run
directory's files are named, read and written by :mod:`seq2seq.rundir`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from seq2seq.callbacks import (
    CosineSchedule,
    EpochCheckpoint,
    EpochSummary,
    RequireTrainingPairs,
    TimeBudget,
    TrainingProgress,
    ValidationDecoding,
    flatten_hparams,
    write_hparams,
)
from seq2seq.data import load_task
from seq2seq.data.pipeline import make_dataset
from seq2seq.data.splits import Splits, TrainProfile, profile
from seq2seq.data.stream import changed_error
from seq2seq.distribute import Distribution, build_before_fit, make_distribution
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import SCORE_KEYS, score, signatures
from seq2seq.losses import SmoothedSparseCategoricalCrossentropy
from seq2seq.models import Seq2SeqModel, build_model, load_model
from seq2seq.rundir import (
    DATA_FINGERPRINT,
    MODEL_FILE,
    RUN_TAKEN,
    VOCAB_FILE,
    Checkpoint,
    RunDir,
)
from seq2seq.settings import (
    OPTIMIZERS,
    RESUMABLE,
    TrainerSettings,
    TrainSettings,
    resume_conflicts,
)
from seq2seq.translation import Translator, default_max_input_length, default_max_output_length
from seq2seq.vocab import TOKENIZERS, TokenVocabulary, make_vocabularies
from seq2seq.vocab.store import read_run_vocab, write_run_vocab

log = logging.getLogger(__name__)
# What a non-chief worker leaves out of its scratch copy of the chief's run directory.
WORKER_SKIPS = shutil.ignore_patterns(".lock", "tensorboard", ".hydra")


@dataclass(frozen=True)
class Vocabularies:
    """The source and target vocabularies and the longest training lengths."""

    source: TokenVocabulary
    target: TokenVocabulary
    longest_source: int
    longest_target: int


@dataclass(frozen=True)
class Datasets:
    """The batched ``tf.data`` splits (``test`` is None when the task has no test split)."""

    train: tf.data.Dataset
    val: tf.data.Dataset
    test: tf.data.Dataset | None


class SyncWeights(keras.callbacks.Callback):
    """Copies the training model's weights into its float32 twin after every epoch, before
    validation decoding (``trainer.precision=mixed_bfloat16``)."""

    def __init__(self, source: Seq2SeqModel, target: Seq2SeqModel) -> None:
        super().__init__()
        self.source, self.target = source, target

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        copy_weights(self.source, self.target)


class TrainingClock:
    """Training seconds over every resume: those before this process plus its own."""

    def __init__(self, before: float = 0.0) -> None:
        self.before = before
        self.started = time.perf_counter()

    def seconds(self) -> float:
        """Seconds of training so far."""
        return self.before + time.perf_counter() - self.started


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


def start_together(
    run: RunDir, settings: TrainSettings, dist: Distribution, held: contextlib.ExitStack
) -> Checkpoint | None:
    """Guards ``run`` and takes its lock (kept by ``held`` until training ends); with several
    workers, all of them learn whether every one may start, so that a refusal on one (a
    finished run directory, a lock in use, ...) stops all instead of leaving the others
    waiting for it at their first collective operation."""
    try:
        logs = log_files_in(run.path)  # e.g. Hydra's train.log, opened before the task
        run.refuse_foreign(logs)  # before the lock: a refused launch changes nothing
        refuse_finished(run, settings)
        held.enter_context(run.lock())  # held until metrics.json is written
        run.refuse_foreign(logs)  # again, now that no other launch can be writing it
        checkpoint = guard_run_dir(run, settings)
        run.mark()
    except Seq2SeqError:
        dist.any_worker(True)
        raise
    if dist.any_worker(False):
        raise Seq2SeqError(
            "another worker refused to start this training (see its log); nothing was trained"
        )
    return checkpoint


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


def _log_handlers_in(directory: Path) -> list[logging.Handler]:
    """The root logger's file handlers whose file is in ``directory``."""
    return [h for h in logging.getLogger().handlers
            if getattr(h, "baseFilename", None)
            and Path(h.baseFilename).resolve().parent == directory.resolve()]  # fmt: skip


def log_files_in(directory: Path) -> tuple[str, ...]:
    """The names of the log files this process writes in ``directory``."""
    return tuple(Path(h.baseFilename).name for h in _log_handlers_in(directory))


def leave_log_files_in(directory: Path) -> None:
    """Closes this process's log files in ``directory`` (Hydra opened ``<run_dir>/train.log``
    for every worker; only the chief's lines belong there)."""
    for handler in _log_handlers_in(directory):
        logging.getLogger().removeHandler(handler)
        handler.close()


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
        initial_epoch = checkpoint.epoch + 1 if checkpoint else 0
        best = fit(model, datasets, translator, splits, run, settings.trainer, initial_epoch,
                   clock, dist)  # fmt: skip
        end_training(run, model, settings.trainer, clock, best)
    copy_weights(model, inference)  # the best epoch's, when early stopping restored them
    run.save_model(inference.training)
    log.info("saved %s", run.model_file)
    metrics = evaluate_final(inference, datasets, translator, splits, run, clock.seconds())
    run.write_metrics({**metrics, **signatures()} if splits.test else metrics)
    log_summary(run, settings, metrics)
    return metrics.get(settings.optimized_metric) if settings.optimized_metric else None


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


def guard_run_dir(run: RunDir, settings: TrainSettings) -> Checkpoint | None:
    """Refuses a run directory that holds another run (called under its lock); returns the
    checkpoint to resume, if any.

    A finished run is touched only to continue it for more epochs (its ``metrics.json`` is
    then removed by :func:`commit_launch`, once every check has passed). An unfinished one needs
    ``trainer.resume=true``: with a checkpoint it resumes, unless the settings differ from
    the run's in a way that changes the model, the data or the optimizer; without one
    (killed during its first epoch) it starts over.
    """
    refuse_finished(run, settings)
    continuing = run.is_finished()
    existing = run.artifacts()
    if not settings.trainer.resume:
        if existing:
            raise Seq2SeqError(
                f"run directory {run.path} holds an unfinished run ({', '.join(existing)});"
                " continue it with trainer.resume=true, or choose another hydra.run.dir"
            )
        return None
    checkpoint = run.latest_checkpoint()
    if checkpoint is None:
        if existing:
            log.warning("%s has no complete checkpoint yet: starting the run over", run.path)
            run.clear_partial()
        else:
            log.info("trainer.resume=true but %s holds no run: starting from scratch", run.path)
        return None
    conflicts = resume_conflicts(run.read_config(), settings.resolved)
    if conflicts:
        raise Seq2SeqError(
            f"cannot resume {run.path} with different settings: {'; '.join(conflicts)}"
            " (resuming may change only: " + ", ".join(RESUMABLE) + ")"
        )
    if continuing:  # metrics.json goes once every check has passed (commit_launch)
        log.info("continuing the finished run %s: epochs %d to %d", run.path,
                 checkpoint.epoch + 2, settings.trainer.epochs)  # fmt: skip
    return checkpoint


def commit_launch(run: RunDir, settings: TrainSettings, launch: dict[str, str] | None) -> None:
    """The launch's first changes to what the run directory held, made once every check has
    passed: a continued finished run loses its ``metrics.json`` (it is unfinished until the
    new epochs are scored), ``config.yaml`` takes this launch's settings, and the launch
    record (Hydra's ``.hydra/``) is kept when there is one (not on a worker's scratch)."""
    log.info("training into %s", run.path, extra={RUN_TAKEN: True})
    if run.is_finished():
        run.metrics_file.unlink()
    run.write_config(settings.resolved)
    if launch is not None:
        run.write_record(launch)


def wants_more(checkpoint: Checkpoint, settings: TrainSettings) -> bool:
    """Whether a resume asks for more epochs than training had been asked for when it
    ended (``trainer.resume=true trainer.epochs=<more>`` continues a finished run)."""
    return settings.trainer.resume and settings.trainer.epochs > checkpoint.epochs_asked


def refuse_finished(run: RunDir, settings: TrainSettings) -> None:
    """A finished run is trained into again only to continue it for more epochs."""
    if not run.is_finished():
        return
    latest = run.latest_checkpoint()
    if latest is not None and wants_more(latest, settings):
        return
    raise Seq2SeqError(
        f"run directory {run.path} holds a finished run (metrics.json); continue it with"
        " trainer.resume=true and a larger trainer.epochs, or choose another hydra.run.dir"
    )


def seed_everything(settings: TrainSettings) -> None:
    """A fresh Keras session, seeded (and deterministic ops) as configured."""
    keras.utils.clear_session()  # a fresh graph per job (Hydra multirun shares a process)
    if settings.seed is not None:
        keras.utils.set_random_seed(settings.seed)
    if settings.trainer.deterministic:
        tf.config.experimental.enable_op_determinism()


def load_data(settings: TrainSettings) -> Splits:
    """The task's train / validation / test pairs."""
    options = dict(settings.data)
    name = options.pop("name")
    log.info("loading data %s", name)
    try:
        splits = load_task(name, **options)
    except ValueError as exc:
        raise Seq2SeqError(f"data: {exc}") from None
    if not splits.train or not splits.val:
        raise Seq2SeqError(f"data: need training and validation pairs, got {splits.sizes()}")
    log.info("pairs per split: %s", splits.sizes())
    return splits


def build_vocabularies(
    splits: Splits, run: RunDir, resuming: bool, settings: TrainSettings
) -> Vocabularies:
    """Vocabularies of the training split (or, with ``trainer.init_from``, of the trained
    run it starts from); a resumed run must find the same ones it saved. Nothing is written
    here (:func:`write_vocabularies`, once the launch has passed every check)."""
    train = profile(splits.train)  # streamed: from the scan, without another pass
    source, target = pick_vocabularies(splits, run, resuming, settings, train)
    vocabs = Vocabularies(source, target, train.longest_source, train.longest_target)
    metadata = vocab_metadata(vocabs, splits)
    if resuming:
        saved_source, saved_target, saved = read_run_vocab(run)
        if (saved_source, saved_target) != (vocabs.source, vocabs.target):
            raise Seq2SeqError(
                f"cannot resume {run.path}: its vocab.json does not match the data of this config"
            )
        if saved.get(DATA_FINGERPRINT, metadata.get(DATA_FINGERPRINT)) != metadata.get(
            DATA_FINGERPRINT
        ):
            raise changed_error(splits.train.source.path, "its content differs from the scan")
    log.info("vocabulary sizes: source %d, target %d", len(vocabs.source), len(vocabs.target))
    return vocabs


def vocab_metadata(vocabs: Vocabularies, splits: Splits) -> dict[str, Any]:
    """What ``vocab.json`` keeps beside the vocabularies: the longest training lengths and,
    for a streamed file, its fingerprint."""
    metadata: dict[str, Any] = {
        "max_source_length": vocabs.longest_source,
        "max_target_length": vocabs.longest_target,
    }
    fingerprint = getattr(splits.train, "fingerprint", None)  # a streamed file's
    if fingerprint is not None:
        metadata[DATA_FINGERPRINT] = fingerprint.as_dict()
    return metadata


def write_vocabularies(run: RunDir, vocabs: Vocabularies, splits: Splits) -> None:
    """``vocab.json`` (and ``tokenizer/``) of :func:`build_vocabularies`' vocabularies."""
    write_run_vocab(run, vocabs.source, vocabs.target, metadata=vocab_metadata(vocabs, splits))


def pick_vocabularies(
    splits: Splits, run: RunDir, resuming: bool, settings: TrainSettings, train: TrainProfile
) -> tuple[TokenVocabulary, TokenVocabulary]:
    """Those of ``trainer.init_from``'s run; a resumed run's own trained ones (SentencePiece
    is not trained again); else new ones of ``vocab.*`` built from the training pairs."""
    init_from = settings.trainer.init_from
    if init_from:
        init = RunDir(Path(init_from))
        try:
            init.require(MODEL_FILE, VOCAB_FILE)
        except Seq2SeqError as exc:
            raise Seq2SeqError(f"trainer.init_from: {exc}") from None
        source, target, _ = read_run_vocab(init)
        if source.name != settings.vocab_name:  # config.yaml must say what is trained
            raise Seq2SeqError(
                f"trainer.init_from={init_from} has vocab={source.name}, this run"
                f" vocab={settings.vocab_name}: fine-tuning keeps the vocabulary of the run it"
                f" starts from; set vocab={source.name}"
            )
        report_unseen(splits.train, train, source, target, init_from)
        return source, target
    if resuming and TOKENIZERS.get(settings.vocab_name).kept_on_resume:
        source, target, _ = read_run_vocab(run)
        return source, target
    return make_vocabularies(settings.vocab_name, settings.vocab_options, splits.train, train)


def report_unseen(
    train: Any,
    scanned: TrainProfile,
    source: TokenVocabulary,
    target: TokenVocabulary,
    init_from: str,
) -> None:
    """Warns about the characters of the new training data that the vocabularies of the run
    training starts from lack (they are read as ``<unk>``), with their counts (in memory)
    or as a list (streamed)."""
    for side, vocab, index in (("source", source, 0), ("target", target, 1)):
        chars = scanned.source_chars if index == 0 else scanned.target_chars
        unknown = set(vocab.unknown_characters("".join(sorted(chars))))
        if isinstance(train, list):
            counts = Counter(ch for pair in train for ch in pair[index] if ch in unknown)
        else:  # streamed: the scan's character set, without counts
            counts = Counter({ch: 0 for ch in unknown})
        if counts:
            shown = ", ".join(
                f"{ch!r} ({n})" if n else repr(ch) for ch, n in counts.most_common(10)
            )
            log.warning(
                "%d %s character(s) of the new data are not in the vocabulary of %s and are"
                " read as <unk>: %s%s", len(counts), side, init_from, shown,
                ", ..." if len(counts) > 10 else "",
            )  # fmt: skip


def make_datasets(splits: Splits, vocabs: Vocabularies, settings: TrainSettings) -> Datasets:
    """Batched datasets: shuffled (and length-bucketed) training, plain validation/test."""
    batch_size = settings.trainer.batch_size

    def plain(pairs):
        return make_dataset(pairs, vocabs.source, vocabs.target, batch_size)

    train_ds = make_dataset(
        splits.train,
        vocabs.source,
        vocabs.target,
        batch_size,
        shuffle=True,
        seed=settings.seed,
        bucket_width=settings.trainer.bucket_width,
        bucket_by=settings.trainer.bucket_by,
        batch_tokens=settings.trainer.batch_tokens,
    )
    if settings.trainer.steps_per_epoch:  # epochs of N batches: the pairs cycle endlessly
        train_ds = train_ds.repeat()
    return Datasets(train_ds, plain(splits.val), plain(splits.test) if splits.test else None)


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
    differ = sorted(k for k in there.keys() | here.keys() if there.get(k) != here.get(k))
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


def fit(
    model: Seq2SeqModel,
    datasets: Datasets,
    translator: Translator,
    splits: Splits,
    run: RunDir,
    trainer: TrainerSettings,
    initial_epoch: int,
    clock: TrainingClock,
    dist: Distribution,
) -> int | None:
    """Runs ``fit`` with the callbacks; a non-finite loss names the last good checkpoint.

    Returns:
        The epoch whose weights early stopping restored (None without early stopping).
    """
    sync = [SyncWeights(model, translator.model)] if translator.model is not model else []
    callbacks = [
        *sync,  # first: validation decoding uses the float32 twin
        *training_callbacks(trainer, run, translator, splits, clock, dist, initial_epoch > 0),
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
        last_good = run.latest_checkpoint()
        raise Seq2SeqError(
            f"training diverged (non-finite loss) at epoch {initial_epoch + len(losses)};"
            f" last good checkpoint: {last_good.path if last_good else 'none'}"
            " (lower trainer.learning_rate, then resume with trainer.resume=true)"
        )
    stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    if stopping and stopping[0].best_weights is not None:
        return int(stopping[0].best_epoch)
    return None


def end_training(
    run: RunDir,
    model: Seq2SeqModel,
    trainer: TrainerSettings,
    clock: TrainingClock,
    best_epoch: int | None,
) -> None:
    """Checkpoints the end of training (the final weights, ``ended``), so that a kill
    during the final save or evaluation resumes to exactly that: no more epochs."""
    epochs = len(run.read_history())
    if epochs:
        run.write_checkpoint(
            model.training,
            epochs - 1,
            keep=trainer.keep_checkpoints,
            seconds=clock.seconds(),
            ended=True,
            best_epoch=best_epoch,
            target_epochs=trainer.epochs,
        )


def training_callbacks(
    trainer: TrainerSettings,
    run: RunDir,
    translator: Translator,
    splits: Splits,
    clock: TrainingClock,
    dist: Distribution,
    resumed: bool = False,
) -> list[keras.callbacks.Callback]:
    """The training callbacks; those that add to the epoch logs come before the loggers.
    Only the chief decodes validation pairs; stopping decisions are the same on every worker
    (the monitored losses are all-reduced, the time budget is agreed on)."""
    found: list[keras.callbacks.Callback] = [RequireTrainingPairs()]
    if trainer.val_decoding_every and dist.is_chief:
        found.append(
            ValidationDecoding(
                translator,
                splits.val[: trainer.val_decoding_samples],
                run.tensorboard_dir,
                every=trainer.val_decoding_every,
                num_examples=trainer.val_decoding_examples,
                num_images=trainer.val_decoding_images,
            )
        )
    found += watching_callbacks(trainer)
    if trainer.lr_schedule == "cosine":
        found.append(CosineSchedule(trainer.learning_rate, trainer.epochs))
    if trainer.max_minutes:
        found.append(TimeBudget(trainer.max_minutes, agree=dist.any_worker))
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
        EpochCheckpoint(run, keep=trainer.keep_checkpoints, clock=clock.seconds),
    ]


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


def evaluate_final(
    model: Seq2SeqModel,
    datasets: Datasets,
    translator: Translator,
    splits: Splits,
    run: RunDir,
    train_seconds: float,
) -> dict[str, Any]:
    """Scores of the final model (the best epoch's when early stopping restored it)."""
    rows = run.read_history()
    val = model.training.evaluate(datasets.val, verbose=0, return_dict=True)
    metrics: dict[str, Any] = {
        "val/loss": float(val["loss"]),
        "val/accuracy": float(val["accuracy"]),
        "train/loss": float(rows[-1]["loss"]) if rows else None,
        "train/accuracy": float(rows[-1]["accuracy"]) if rows else None,
        "train/seconds": round(train_seconds, 1),
        "train/epochs": len(rows),
    }
    if datasets.test is not None:
        test = model.training.evaluate(datasets.test, verbose=0, return_dict=True)
        metrics["test/loss"] = float(test["loss"])
        metrics["test/accuracy"] = float(test["accuracy"])
        log.info("decoding %d test pairs", len(splits.test))
        hyps = translator.translate([s for s, _ in splits.test], batch_size=512)
        refs = [t for _, t in splits.test]
        metrics.update({f"test/{k}": v for k, v in score(hyps, refs).items()})
        metrics["test/num_pairs"] = len(refs)
        for (src, ref), hyp in list(zip(splits.test, hyps, strict=True))[:5]:
            log.info("test sample: %r -> %r (reference %r)", src, hyp, ref)
    return metrics


def log_summary(run: RunDir, settings: TrainSettings, metrics: dict[str, Any]) -> None:
    """Logs the metrics and writes the HParams summary for TensorBoard."""
    hparams = flatten_hparams(settings.resolved, ("data", "vocab", "model", "trainer", "decoding"))
    write_hparams(run.tensorboard_dir, hparams | {"seed": str(settings.seed)}, metrics)
    log.info(
        "metrics: %s",
        ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
        ),
    )
    log.info("run directory: %s", run.path)


def check_optimized_metric(settings: TrainSettings, has_test: bool) -> None:
    """Refuses an ``optimized_metric`` that ``metrics.json`` will not hold, before training."""
    key = settings.optimized_metric
    known = metric_keys(has_test)
    if key and key not in known:
        raise Seq2SeqError(
            f"optimized_metric={key!r} is not a metric of this run; choose one of {known}"
        )


def metric_keys(has_test: bool) -> list[str]:
    """The keys of ``metrics.json`` (``test/*`` only when the task has a test split)."""
    keys = [f"val/{k}" for k in ("loss", "accuracy")]
    keys += [f"train/{k}" for k in ("loss", "accuracy", "seconds", "epochs")]
    if has_test:
        test = ("loss", "accuracy", *SCORE_KEYS, "num_pairs")
        keys += [f"test/{k}" for k in test]
    return keys
