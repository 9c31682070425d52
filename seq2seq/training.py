"""``train(cfg)``: data, vocabularies, model, fit, final metrics and the run directory.

The run directory (``cfg.paths.output_dir``, Hydra's run dir by default) ends up holding::

    config.yaml     the resolved config (no ${...} left)
    vocab.json      source and target vocabularies, plus data limits
    model.keras     the trained model (loadable with safe_mode=True)
    history.csv     one row per epoch (Keras CSVLogger format)
    tensorboard/    train/ and validation/ event files
    metrics.json    flat keys: "test/exact_match", "test/char_accuracy", "val/loss", ...
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from seq2seq.callbacks import EpochSummary, ValidationDecoding, flatten_hparams, write_hparams
from seq2seq.checkpoints import (
    CHECKPOINT_DIR,
    EpochCheckpoint,
    latest_checkpoint,
    load_checkpoint_model,
    truncate_history,
)
from seq2seq.data import load_task
from seq2seq.data.pipeline import make_dataset
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import score
from seq2seq.losses import SmoothedSparseCategoricalCrossentropy
from seq2seq.model import Seq2Seq, build_seq2seq, save_model
from seq2seq.translation import (
    MODEL_FILE,
    VOCAB_FILE,
    Translator,
    default_max_input_length,
    default_max_output_length,
)
from seq2seq.vocab import Vocabulary, load_vocabularies, save_vocabularies

log = logging.getLogger(__name__)

# Files whose presence means a run directory is taken (finished or partial).
RUN_ARTIFACTS = (MODEL_FILE, VOCAB_FILE, "history.csv", "metrics.json", CHECKPOINT_DIR)
OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD", "adamw": "AdamW"}


def validate_config(cfg: DictConfig) -> None:
    """Rejects bad values before any data is loaded, naming the key.

    Raises:
        Seq2SeqError: a value is out of range or unknown.
    """

    def positive(key: str, value: Any, kind: type = int) -> None:
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Seq2SeqError(f"{key} must be a positive number, got {value!r}")
        if kind is int and int(value) != value:
            raise Seq2SeqError(f"{key} must be a whole number, got {value!r}")
        if value <= 0:
            raise Seq2SeqError(f"{key} must be positive, got {value!r}")

    positive("model.units", cfg.model.units)
    positive("trainer.epochs", cfg.trainer.epochs)
    positive("trainer.batch_size", cfg.trainer.batch_size)
    positive("trainer.learning_rate", cfg.trainer.learning_rate, float)
    if cfg.model.get("embedding_dim"):
        positive("model.embedding_dim", cfg.model.embedding_dim)
    dropout = cfg.model.get("dropout", 0.0) or 0.0
    if not 0 <= dropout < 1:
        raise Seq2SeqError(f"model.dropout must be in [0, 1), got {dropout!r}")
    if str(cfg.trainer.optimizer).lower() not in OPTIMIZERS:
        raise Seq2SeqError(
            f"trainer.optimizer={cfg.trainer.optimizer!r} is unknown;"
            f" choose one of {list(OPTIMIZERS)}"
        )
    if cfg.trainer.get("bucket_width") is not None:
        positive("trainer.bucket_width", cfg.trainer.bucket_width)
    if cfg.data.get("num_samples") is not None:
        positive("data.num_samples", cfg.data.num_samples)
    if cfg.trainer.get("deterministic") and cfg.get("seed") is None:
        raise Seq2SeqError("trainer.deterministic=true needs a seed (seed=<int>)")
    max_length = cfg.data.get("max_length")
    if max_length is not None:
        positive("data.max_length", max_length)
    smoothing = cfg.trainer.get("label_smoothing") or 0.0
    if not 0 <= smoothing < 1:
        raise Seq2SeqError(f"trainer.label_smoothing must be in [0, 1), got {smoothing!r}")
    for key in ("early_stopping", "reduce_lr"):
        node = cfg.trainer.get(key)
        if node and node.get("mode", "auto") not in ("auto", "min", "max"):
            raise Seq2SeqError(f"trainer.{key}.mode must be auto, min or max, got {node.mode!r}")
        if node and node.get("patience") is not None and int(node.patience) < 0:
            raise Seq2SeqError(f"trainer.{key}.patience must be 0 or more, got {node.patience!r}")
    plateau = cfg.trainer.get("reduce_lr")
    if plateau and plateau.get("factor") is not None and not 0 < plateau.factor < 1:
        raise Seq2SeqError(f"trainer.reduce_lr.factor must be in (0, 1), got {plateau.factor!r}")
    seed = cfg.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise Seq2SeqError(f"seed must be an integer or null, got {seed!r}")


def _new_model(cfg: DictConfig, source_size: int, target_size: int) -> Seq2Seq:
    """Builds and compiles a fresh model as ``cfg.model`` and ``cfg.trainer`` say."""
    model = build_seq2seq(
        source_size,
        target_size,
        units=int(cfg.model.units),
        embedding_dim=cfg.model.get("embedding_dim") or None,
        dropout=float(cfg.model.get("dropout") or 0.0),
    )
    optimizer_config: dict[str, Any] = {"learning_rate": float(cfg.trainer.learning_rate)}
    if cfg.trainer.get("clipnorm"):
        optimizer_config["clipnorm"] = float(cfg.trainer.clipnorm)
    optimizer = keras.optimizers.get(
        {
            "class_name": OPTIMIZERS[str(cfg.trainer.optimizer).lower()],
            "config": optimizer_config,
        }
    )
    # PAD positions carry a Keras mask (Embedding/OneHot mask_zero), so loss and accuracy
    # are averaged over real target characters only.
    label_smoothing = float(cfg.trainer.get("label_smoothing") or 0.0)
    loss = (
        SmoothedSparseCategoricalCrossentropy(label_smoothing)
        if label_smoothing
        else keras.losses.SparseCategoricalCrossentropy()
    )
    model.training.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def _read_history(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _callbacks(
    cfg: DictConfig,
    run_dir: Path,
    translator: Translator,
    val_pairs: list,
    epochs: int,
    resumed: bool = False,
) -> list[keras.callbacks.Callback]:
    """The training callbacks; those that add to the epoch logs come before the loggers."""
    trainer = cfg.trainer
    callbacks: list[keras.callbacks.Callback] = []
    val_decoding = trainer.get("val_decoding")
    if val_decoding and val_decoding.get("every"):
        callbacks.append(
            ValidationDecoding(
                translator,
                val_pairs[: int(val_decoding.get("num_samples", 256))],
                run_dir / "tensorboard",
                every=int(val_decoding.every),
                num_examples=int(val_decoding.get("num_examples", 5)),
            )
        )
    early = trainer.get("early_stopping")
    if early and early.get("patience") is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                **_watched(early),
                patience=int(early.patience),
                restore_best_weights=True,
            )
        )
    plateau = trainer.get("reduce_lr")
    if plateau and plateau.get("factor"):
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                **_watched(plateau),
                factor=float(plateau.factor),
                patience=int(plateau.get("patience", 2)),
                min_lr=float(plateau.get("min_lr", 1e-5)),
            )
        )
    callbacks += [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resumed),
        keras.callbacks.TensorBoard(
            log_dir=str(run_dir / "tensorboard"), write_graph=False, update_freq="epoch"
        ),
        EpochSummary(epochs),
        # After the history row: a kill between the two leaves a row that resume drops.
        EpochCheckpoint(run_dir, keep=int(trainer.get("keep_checkpoints", 2))),
    ]
    return callbacks


def _watched(node: DictConfig) -> dict[str, str]:
    """``monitor`` and ``mode`` of a callback config; ``auto`` -> ``max`` for accuracy-like
    metrics (accuracy, chrF, BLEU, exact match), else ``min``."""
    monitor = str(node.get("monitor", "val_loss"))
    mode = str(node.get("mode", "auto"))
    if mode == "auto":
        accuracy_like = ("acc", "chrf", "bleu", "exact_match")
        mode = "max" if any(k in monitor for k in accuracy_like) else "min"
    return {"monitor": monitor, "mode": mode}


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def train(cfg: DictConfig) -> float | None:
    """Trains a model as configured and fills the run directory.

    Args:
        cfg: the composed training config (``data``, ``model``, ``trainer``, ``paths``,
            ``seed``, ``optimized_metric``).

    Returns:
        The value of ``cfg.optimized_metric`` from ``metrics.json`` (for sweepers), or None.
    """
    validate_config(cfg)
    run_dir = Path(cfg.paths.output_dir)
    resume = bool(cfg.trainer.get("resume", False))
    if resume and (run_dir / "metrics.json").exists():
        raise Seq2SeqError(f"run directory {run_dir} holds a finished run; nothing to resume")
    checkpoint = latest_checkpoint(run_dir) if resume else None
    existing = [name for name in RUN_ARTIFACTS if (run_dir / name).exists()]
    if existing and checkpoint is None:
        raise Seq2SeqError(
            f"run directory {run_dir} already holds a run ({', '.join(existing)});"
            " choose another hydra.run.dir"
            + ("" if resume else ", or resume it with trainer.resume=true")
        )
    if resume and checkpoint is None:
        log.info("trainer.resume=true but %s has no checkpoint: starting from scratch", run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")

    keras.utils.clear_session()  # a fresh graph per job (Hydra multirun shares a process)
    seed = cfg.get("seed")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if cfg.trainer.get("deterministic"):
        tf.config.experimental.enable_op_determinism()

    data_options = OmegaConf.to_container(cfg.data, resolve=True)
    assert isinstance(data_options, dict)
    name = data_options.pop("name")
    log.info("loading data %s", name)
    try:
        splits = load_task(name, **data_options)
    except ValueError as exc:
        raise Seq2SeqError(f"data: {exc}") from None
    if not splits.train or not splits.val:
        raise Seq2SeqError(f"data: need training and validation pairs, got {splits.sizes()}")
    log.info("pairs per split: %s", splits.sizes())

    longest_source = max(len(s) for s, _ in splits.train)
    longest_target = max(len(t) for _, t in splits.train)
    source_vocab = Vocabulary.build(s for s, _ in splits.train)
    target_vocab = Vocabulary.build(t for _, t in splits.train)
    if checkpoint is not None:
        saved_source, saved_target, _ = load_vocabularies(run_dir / VOCAB_FILE)
        if (saved_source, saved_target) != (source_vocab, target_vocab):
            raise Seq2SeqError(
                f"cannot resume {run_dir}: its vocab.json does not match the data of this config"
            )
    save_vocabularies(
        run_dir / VOCAB_FILE,
        source_vocab,
        target_vocab,
        metadata={
            "max_source_length": longest_source,
            "max_target_length": longest_target,
        },
    )
    log.info("vocabulary sizes: source %d, target %d", len(source_vocab), len(target_vocab))

    batch_size = int(cfg.trainer.batch_size)
    train_ds = make_dataset(
        splits.train,
        source_vocab,
        target_vocab,
        batch_size,
        shuffle=True,
        seed=seed,
        bucket_width=cfg.trainer.get("bucket_width") or None,
    )
    val_ds = make_dataset(splits.val, source_vocab, target_vocab, batch_size)

    initial_epoch = 0
    if checkpoint is not None:
        path, last_epoch = checkpoint
        model = Seq2Seq.from_training_model(load_checkpoint_model(path))
        initial_epoch = last_epoch + 1
        truncate_history(run_dir / "history.csv", initial_epoch)
        log.info("resuming from %s: %d epoch(s) done", path, initial_epoch)
    else:
        model = _new_model(cfg, len(source_vocab), len(target_vocab))
    log.info("model: %s parameters", f"{model.training.count_params():,}")

    epochs = int(cfg.trainer.epochs)
    max_output_length = cfg.decoding.get("max_length") or default_max_output_length(longest_target)
    max_input_length = default_max_input_length(longest_source)
    translator = Translator(model, source_vocab, target_vocab, max_output_length, max_input_length)
    callbacks = _callbacks(cfg, run_dir, translator, splits.val, epochs, resumed=initial_epoch > 0)
    verbose = 1 if cfg.trainer.get("progress_bar", True) else 0
    started = time.perf_counter()
    history = model.training.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the dataset reshuffles itself every epoch
    )
    train_seconds = time.perf_counter() - started
    losses = history.history.get("loss", [])
    if not all(math.isfinite(v) for v in losses):
        last_good = latest_checkpoint(run_dir)
        raise Seq2SeqError(
            f"training diverged (non-finite loss) at epoch {initial_epoch + len(losses)};"
            f" last good checkpoint: {last_good[0] if last_good else 'none'}"
            " (lower trainer.learning_rate, then resume with trainer.resume=true)"
        )
    rows = _read_history(run_dir / "history.csv")

    save_model(model.training, run_dir / MODEL_FILE)
    log.info("saved %s", run_dir / MODEL_FILE)

    # Scores of the final model (the best epoch's when early stopping restored it).
    val_eval = model.training.evaluate(val_ds, verbose=0, return_dict=True)
    metrics: dict[str, Any] = {
        "val/loss": float(val_eval["loss"]),
        "val/accuracy": float(val_eval["accuracy"]),
        "train/loss": float(rows[-1]["loss"]) if rows else None,
        "train/accuracy": float(rows[-1]["accuracy"]) if rows else None,
        "train/seconds": round(train_seconds, 1),
        "train/epochs": len(rows),
    }
    if splits.test:
        test_ds = make_dataset(splits.test, source_vocab, target_vocab, batch_size)
        test = model.training.evaluate(test_ds, verbose=0, return_dict=True)
        metrics["test/loss"] = float(test["loss"])
        metrics["test/accuracy"] = float(test["accuracy"])
        log.info("decoding %d test pairs", len(splits.test))
        hyps = translator.translate([s for s, _ in splits.test], batch_size=512)
        refs = [t for _, t in splits.test]
        metrics.update({f"test/{k}": v for k, v in score(hyps, refs).items()})
        metrics["test/num_pairs"] = len(refs)
        for (src, ref), hyp in list(zip(splits.test, hyps, strict=True))[:5]:
            log.info("test sample: %r -> %r (reference %r)", src, hyp, ref)
    _write_json(run_dir / "metrics.json", metrics)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    hparams = flatten_hparams(resolved, ("data", "model", "trainer", "decoding"))
    write_hparams(run_dir / "tensorboard", hparams | {"seed": str(seed)}, metrics)
    log.info(
        "metrics: %s",
        ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
        ),
    )
    log.info("run directory: %s", run_dir)

    key = cfg.get("optimized_metric")
    if key:
        if key not in metrics:
            raise Seq2SeqError(
                f"optimized_metric={key!r} is not in metrics.json ({sorted(metrics)})"
            )
        return metrics[key]
    return None
