"""The report phase: the final scores in ``metrics.json``, the HParams summary, and
the metric keys a sweeper may optimize."""

from __future__ import annotations

import logging
from typing import Any

from seq2seq.callbacks import flatten_hparams, write_hparams
from seq2seq.data.splits import Splits
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import SCORE_KEYS, score
from seq2seq.models import Seq2SeqModel
from seq2seq.rundir import RunDir
from seq2seq.settings import TrainSettings
from seq2seq.training.vocabularies import Datasets
from seq2seq.translation import Translator

log = logging.getLogger(__name__)


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


def evaluate_averaged(run: RunDir, last: int, translator: Translator, splits: Splits) -> dict:
    """Scores of the mean of the last ``last`` checkpoints' weights on the test split (the
    annealed tail of a schedule), as ``averaged/test/*``; ``model.keras`` stays the final
    model (``s2s-average run_dir=... last=N`` writes the averaged one as a run)."""
    from seq2seq.averaging import average_models

    kept = run.checkpoints()[-last:]
    if len(kept) < 2 or not splits.test:
        log.warning("trainer.average_last=%d: %d checkpoint(s), no average", last, len(kept))
        return {}
    averaged = average_models([c.model_file for c in kept]).training.get_weights()
    final = translator.model.training.get_weights()  # saved and scored already
    translator.model.training.set_weights(averaged)  # float32, whatever the checkpoints'
    try:
        hyps = translator.translate([s for s, _ in splits.test], batch_size=512)
    finally:
        translator.model.training.set_weights(final)
    found = score(hyps, [t for _, t in splits.test])
    log.info("the average of checkpoints %s: test chrF %.2f", [c.path.name for c in kept],
             found["chrf"])  # fmt: skip
    return {f"averaged/test/{k}": v for k, v in found.items()} | {
        "averaged/checkpoints": [c.path.name for c in kept]
    }


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
