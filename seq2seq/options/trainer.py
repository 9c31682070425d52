"""What the ``trainer.*`` settings may hold, and what a resume may change, without
TensorFlow (the records that check them are :mod:`seq2seq.settings`)."""

from __future__ import annotations

import os
from typing import Any

from seq2seq.errors import Seq2SeqError
from seq2seq.options import flatten

OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD", "adamw": "AdamW"}
# What trainer.early_stopping / trainer.reduce_lr may watch (val_chrf and val_exact_match
# need trainer.val_decoding.every > 0).
MONITORS = ("val_loss", "val_accuracy", "val_chrf", "val_exact_match", "loss", "accuracy")
DECODED_MONITORS = ("val_chrf", "val_exact_match")
# trainer.lr_schedule: None keeps the rate (or trainer.reduce_lr's); cosine / linear anneal it
# to 1/20 of trainer.learning_rate over trainer.max_minutes (or trainer.epochs, see
# SCHEDULE_OVER); inverse_sqrt decays it as 1/sqrt(update) after trainer.warmup_steps (the
# Transformer's schedule).
LR_SCHEDULES = (None, "cosine", "linear", "inverse_sqrt")
# trainer.schedule_over: what a cosine / linear decay runs over. auto: the time budget when
# trainer.max_minutes is set, else the epochs; minutes: the budget (needs max_minutes); epochs:
# the epochs even with a budget (which then only stops the run).
SCHEDULE_OVER = ("auto", "minutes", "epochs")
# Settings a resumed run may change (dotted keys and everything under them). Any other
# difference from the run's config.yaml would change the model, its data or its optimizer,
# so resuming refuses it.
RESUMABLE = (
    "trainer.epochs",
    "trainer.max_minutes",
    "trainer.resume",
    "trainer.progress_bar",
    "trainer.progress_seconds",
    "trainer.keep_checkpoints",
    "trainer.average_last",
    "trainer.deterministic",
    "trainer.jit_compile",
    "trainer.early_stopping",
    "trainer.reduce_lr",
    "trainer.val_decoding",
    "decoding",
    "optimized_metric",
    "paths",
    "task_name",
)
# trainer.precision: Keras dtype policies for training (the saved model is always float32), or
# auto: bfloat16 where the CPU computes it natively and it measures faster (training/precision.py).
PRECISIONS = ("auto", "float32", "mixed_bfloat16")


def resume_conflicts(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The differences between a run's resolved config and a resuming one that resuming must
    refuse, as ``key=<run's> in the run, <now> now`` (empty: may resume).

    Keys under :data:`RESUMABLE` may differ. A key only one side has is ignored: the code that
    wrote the run did not know that setting.
    """
    old, new = flatten(saved), flatten(now)
    found = []
    for key in sorted(old.keys() & new.keys()):
        if any(key == p or key.startswith(p + ".") for p in RESUMABLE):
            continue
        before, after = old[key], new[key]
        if key == "data.path" and before and after:
            before, after = os.path.realpath(str(before)), os.path.realpath(str(after))
        if before != after:
            found.append(f"{key}={old[key]!r} in the run, {new[key]!r} now")
    return found


def check_schedule(lr_schedule: str | None, schedule_over: str, max_minutes: float | None,
                   warmup_steps: int, warmup_minutes: float) -> None:  # fmt: skip
    """Refuses learning-rate schedule settings that cannot work together (one-line errors)."""
    if schedule_over not in SCHEDULE_OVER:
        raise Seq2SeqError(
            f"trainer.schedule_over={schedule_over!r} is unknown; choose one of"
            f" {list(SCHEDULE_OVER)}"
        )
    if schedule_over == "minutes" and not max_minutes:
        raise Seq2SeqError(
            "trainer.schedule_over=minutes needs the budget: set trainer.max_minutes"
        )
    if warmup_minutes and warmup_steps:
        raise Seq2SeqError(
            "trainer.warmup_minutes and trainer.warmup_steps both set the warm-up: keep one"
        )
    if warmup_minutes and lr_schedule == "inverse_sqrt":
        raise Seq2SeqError(
            "trainer.lr_schedule=inverse_sqrt decays from the end of a warm-up counted in"
            " updates: set trainer.warmup_steps, not trainer.warmup_minutes"
        )
    if warmup_minutes and max_minutes and warmup_minutes >= max_minutes:
        raise Seq2SeqError(
            f"trainer.warmup_minutes={warmup_minutes:g} must be shorter than"
            f" trainer.max_minutes={max_minutes:g}"
        )
