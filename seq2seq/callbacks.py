"""Training callbacks: live validation translations, TensorBoard text and HParams, epoch log."""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from seq2seq.data.splits import Pair
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import score
from seq2seq.options import flatten
from seq2seq.rundir import RunDir

log = logging.getLogger(__name__)


class EpochSummary(keras.callbacks.Callback):
    """Logs one line per epoch: every metric in the logs and the epoch's duration."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        parts = " ".join(
            f"{k}={v:.4g}" if k == "learning_rate" else f"{k}={v:.4f}"
            for k, v in sorted((logs or {}).items())
        )
        seconds = time.perf_counter() - self._start
        log.info("epoch %d/%d: %s (%.1fs)", epoch + 1, self.epochs, parts, seconds)


class TrainingProgress(keras.callbacks.Callback):
    """Progress within an epoch wherever stderr goes: at a terminal, one line redrawn in
    place (and cleared before the epoch's log line); elsewhere (a pipe, a log file, CI), a
    log line every ``every_seconds``. Each says the step (of how many, when known), pairs per
    second, the loss so far and the epoch's remaining time."""

    def __init__(
        self,
        epochs: int,
        batch_size: int | None,
        every_seconds: float,
        at_terminal: bool,
        stream=None,
    ) -> None:
        super().__init__()
        self.epochs, self.batch_size = epochs, batch_size
        self.at_terminal = at_terminal
        self.every = 0.25 if at_terminal else every_seconds
        self.stream = stream
        self._epoch, self._start, self._last, self._drawn = 0, 0.0, 0.0, False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self._start = epoch, time.monotonic()
        self._last = self._start

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.monotonic()
        if not self.every or now - self._last < self.every:
            return
        self._last = now
        text = self.describe(batch + 1, now - self._start, (logs or {}).get("loss"))
        if self.at_terminal:
            self._draw(text)
        else:
            log.info("%s", text)

    def describe(self, done: int, seconds: float, loss: float | None) -> str:
        """``epoch 2/6: step 340/704 (48%), 2,150 pairs/s, loss 0.0123, 0:42 left``."""
        steps = (self.params or {}).get("steps")
        parts = [f"epoch {self._epoch + 1}/{self.epochs}: step {done}"]
        if steps:
            parts[0] += f"/{steps} ({100 * done // steps}%)"
        if self.batch_size:  # else batches of a token budget: a step is not N pairs
            parts.append(f"{done * self.batch_size / max(seconds, 1e-9):,.0f} pairs/s")
        else:
            parts.append(f"{done / max(seconds, 1e-9):,.1f} steps/s")
        if loss is not None:
            parts.append(f"loss {float(loss):.4f}")
        if steps and done < steps:
            left = round(seconds / done * (steps - done))
            parts.append(f"{left // 60}:{left % 60:02d} left")
        return ", ".join(parts)

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self.at_terminal and self._drawn:
            self._draw(f"epoch {self._epoch + 1}/{self.epochs}: validating")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._drawn:  # the epoch's log line starts on a clean line
            self._write("\r\x1b[K")
            self._drawn = False

    def _draw(self, text: str) -> None:
        width = shutil.get_terminal_size().columns - 1
        self._write("\r" + text[:width] + "\x1b[K")
        self._drawn = True

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(text)
        stream.flush()


class TimeBudget(keras.callbacks.Callback):
    """Stops training cleanly once ``max_minutes`` of training have run (the run then
    saves, evaluates and reports as usual): at the update that crosses the deadline (the
    epoch then ends there: its validation and checkpoint follow), or with ``per_update``
    false (several workers, which must agree) after the epoch that crosses it. With a
    ``clock`` the minutes count over every resume of the run; without, from this fit."""

    def __init__(
        self,
        max_minutes: float,
        agree: Callable[[bool], bool] = bool,
        clock: Callable[[], float] | None = None,
        per_update: bool = False,
    ) -> None:
        """``agree`` turns this process's verdict into the one all workers share (multi-worker
        training: stop when any worker's budget ran out)."""
        super().__init__()
        self.max_seconds = 60.0 * max_minutes
        self.agree, self.clock, self.per_update = agree, clock, per_update
        self._start = time.perf_counter()
        self._epoch = 0

    def elapsed(self) -> float:
        """Seconds of training counted against the budget."""
        return self.clock() if self.clock else time.perf_counter() - self._start

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        stopped = getattr(self.model, "stop_training", False)
        if self.per_update and not stopped and self.elapsed() >= self.max_seconds:
            log.info("time budget of %.1f min used up in epoch %d, after its update %d:"
                     " stopping", self.max_seconds / 60, self._epoch + 1, batch + 1)  # fmt: skip
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.per_update:
            return
        elapsed = self.elapsed()
        if self.agree(elapsed >= self.max_seconds):
            log.info(
                "time budget of %.1f min used up after epoch %d (%.1f min): stopping",
                self.max_seconds / 60,
                epoch + 1,
                elapsed / 60,
            )
            self.model.stop_training = True


class RequireTrainingPairs(keras.callbacks.Callback):
    """Stops training with an error when an epoch saw no training batch (e.g. a streamed
    file emptied while training): first of the callbacks, so such an epoch is never logged,
    checkpointed or counted."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if "loss" not in (logs or {}):
            raise Seq2SeqError(
                f"epoch {epoch + 1} saw no training pair (was the training file emptied or"
                " replaced?); nothing was saved from it: fix the data, then resume with"
                " trainer.resume=true"
            )


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves a resumable checkpoint (model, optimizer, epoch) after every completed epoch
    with a finite loss, keeping the newest ``keep``."""

    def __init__(
        self, run: RunDir, keep: int = 2, clock: Callable[[], float] | None = None
    ) -> None:
        super().__init__()
        self.run = run
        self.keep = max(1, int(keep))
        self.clock = clock

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            log.error("epoch %d: non-finite loss; not checkpointing it", epoch + 1)
            return
        seconds = self.clock() if self.clock else 0.0
        self.run.write_checkpoint(self.model, epoch, keep=self.keep, seconds=seconds)


class ValidationDecoding(keras.callbacks.Callback):
    """Every ``every`` epochs, greedy-decodes a fixed validation subset and reports it.

    With an attention model it also writes, as TensorBoard images ``alignment/<i>``, the
    attention heat map of the first ``num_images`` pairs (output characters down, source
    characters across).

    Adds ``val_chrf`` and ``val_exact_match`` to the epoch logs (so early stopping and
    ``history.csv`` can use them), writes them as TensorBoard scalars under
    ``<log_dir>/validation``, and writes a Markdown table of the first ``num_examples`` pairs
    (source, reference, current hypothesis) as TensorBoard text.
    """

    def __init__(
        self,
        translator: Any,
        pairs: Sequence[Pair],
        log_dir: str | Path,
        every: int = 1,
        num_examples: int = 5,
        batch_size: int = 256,
        num_images: int = 3,
    ) -> None:
        super().__init__()
        self.translator = translator
        self.pairs = list(pairs)
        self.every = max(1, int(every))
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.num_images = num_images
        self.log_dir = Path(log_dir)
        self._writer: tf.summary.SummaryWriter | None = None

    def _summary_writer(self) -> tf.summary.SummaryWriter:
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir / "validation"))
        return self._writer

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.pairs or epoch % self.every:
            return
        hyps = self.translator.translate([s for s, _ in self.pairs], batch_size=self.batch_size)
        scores = score(hyps, [t for _, t in self.pairs])
        if logs is not None:
            logs["val_chrf"] = scores["chrf"]
            logs["val_exact_match"] = scores["exact_match"]
        rows = ["| source | reference | hypothesis |", "|---|---|---|"]
        for (src, ref), hyp in list(zip(self.pairs, hyps, strict=True))[: self.num_examples]:
            rows.append(f"| {_md(src)} | {_md(ref)} | {_md(hyp)} |")
        with self._summary_writer().as_default(step=epoch):
            tf.summary.scalar("epoch_chrf", scores["chrf"])
            tf.summary.scalar("epoch_exact_match", scores["exact_match"])
            tf.summary.text("translations", "\n".join(rows))
            self._write_alignments()
        self._summary_writer().flush()

    def _write_alignments(self) -> None:
        """Attention heat maps of the first ``num_images`` pairs (models with attention)."""
        from seq2seq.plots import alignment_figure, figure_to_array

        sources = [s for s, _ in self.pairs[: self.num_images]]
        for i, aligned in enumerate(self.translator.alignments(sources) if sources else []):
            fig = alignment_figure(aligned.source_tokens, aligned.output_tokens, aligned.weights)
            tf.summary.image(f"alignment/{i}", figure_to_array(fig)[None])

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._writer is not None:
            self._writer.close()


def _md(text: str) -> str:
    """Escapes a cell for a Markdown table."""
    return text.replace("|", "\\|").replace("\n", " ") or "∅"


def _hparam_value(value: Any) -> bool | int | float | str:
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def flatten_hparams(config: dict[str, Any], groups: Sequence[str]) -> dict[str, Any]:
    """``{"model.units": 256, ...}`` from the resolved config's ``groups`` (plain values only)."""
    chosen = {group: config[group] for group in groups if group in config}
    return {key: _hparam_value(value) for key, value in flatten(chosen).items()}


def write_hparams(log_dir: str | Path, hparams: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Logs a run's hyperparameters and final metrics for TensorBoard's HParams dashboard.

    After a Hydra multirun, ``tensorboard --logdir <sweep dir>`` lists every job as a row.
    """
    writer = tf.summary.create_file_writer(str(Path(log_dir)))
    numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
    with writer.as_default(step=0):
        hp.hparams(hparams, trial_id=str(Path(log_dir).parent.name))
        for key, value in numeric.items():
            tf.summary.scalar(key, value)
    writer.flush()
    writer.close()
