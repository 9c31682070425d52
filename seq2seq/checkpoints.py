"""Checkpoints for resuming: model, optimizer state and epoch, written atomically.

Layout::

    <run_dir>/checkpoints/
      epoch-0003/          the last K completed epochs (K = trainer.keep_checkpoints)
        model.keras        weights + optimizer state (compiled model)
        state.json         {"epoch": 3}  (0-based index of the completed epoch)

A checkpoint is written into a hidden temporary directory and renamed into place, so a kill
at any instant leaves either the previous set of checkpoints or the new one, never a
half-written ``epoch-*`` directory.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
from pathlib import Path

import keras

from seq2seq.errors import Seq2SeqError

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "state.json"
MODEL_FILE = "model.keras"


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = run_dir / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    found = [
        p for p in root.glob("epoch-*") if (p / STATE_FILE).is_file() and (p / MODEL_FILE).is_file()
    ]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(run_dir: Path) -> tuple[Path, int] | None:
    """The newest complete checkpoint and its epoch index, or None."""
    dirs = checkpoint_dirs(run_dir)
    if not dirs:
        return None
    state = json.loads((dirs[-1] / STATE_FILE).read_text(encoding="utf-8"))
    return dirs[-1], int(state["epoch"])


def load_checkpoint_model(path: Path) -> keras.Model:
    """Loads a checkpoint's compiled training model (weights and optimizer state)."""
    try:
        return keras.models.load_model(path / MODEL_FILE, compile=True, safe_mode=True)
    except Exception as exc:  # a damaged file: say which
        raise Seq2SeqError(f"cannot load checkpoint {path}: {exc}") from None


def truncate_history(path: Path, epochs: int) -> None:
    """Keeps the header and the rows of epochs ``0 .. epochs-1`` of a CSVLogger file."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    kept = [r for r in body if r and r[0].isdigit() and int(r[0]) < epochs]
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(kept)
    tmp.replace(path)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves a resumable checkpoint after every completed epoch with a finite loss."""

    def __init__(self, run_dir: Path, keep: int = 2) -> None:
        super().__init__()
        self.root = Path(run_dir) / CHECKPOINT_DIR
        self.keep = max(1, int(keep))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            log.error("epoch %d: non-finite loss; not checkpointing it", epoch + 1)
            return
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / f"epoch-{epoch:04d}"
        tmp = self.root / f".tmp-epoch-{epoch:04d}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        self.model.save(tmp / MODEL_FILE)
        (tmp / STATE_FILE).write_text(json.dumps({"epoch": epoch}), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        for old in checkpoint_dirs(self.root.parent)[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
