"""The run directory: every artifact's file name, how it is read and written, atomically.

Layout (a contract users and tools rely on)::

    <run_dir>/
      config.yaml     the resolved config (no ${...} left)
      vocab.json      source and target vocabularies, plus data limits
      tokenizer/      the files a vocabulary needs (SentencePiece: source.model, target.model
                      or shared.model), named in vocab.json
      model.keras     the trained model (loadable with safe_mode=True)
      checkpoints/    epoch-0003/{model.keras,state.json}: the last K completed epochs, each
                      named by the epochs done (as the log counts: epoch-0003 after 3/6)
      history.csv     one row per completed epoch (Keras CSVLogger format)
      metrics.json    flat keys: "test/exact_match", "val/loss", ...
      tensorboard/    train/ and validation/ event files, HParams
      .hydra/         the launch that made (or last resumed) the run: the composed config
                      (unresolved), the command-line overrides, Hydra's own settings
      .lock           held (``flock``) by the training that is writing the directory
      .seq2seq-run    the run marker, written first: training writes only into a new or
                      empty directory or one holding this marker (or, for runs of earlier
                      versions, a config.yaml beside a vocab.json)

Every artifact is written by :func:`atomic_write`: into a hidden sibling, then renamed over
its final name, so a kill at any instant leaves the old version or the new one, never half
a file. (``history.csv`` and ``tensorboard/`` are appended to by Keras callbacks.)

A training holds :meth:`RunDir.lock` (an OS-level ``flock``, released by the kernel when the
process dies, so a ``kill -9`` never leaves a stale lock) from before it looks at the
directory until it has written ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import json
import logging
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from seq2seq.errors import Seq2SeqError
from seq2seq.files import (  # noqa: F401 - the writers stay importable from here
    atomic_write,
    atomic_write_text,
    os_reason,
    read_run_bytes,
    remove_path,
    write_json,
    write_target,
    write_user_file,
)

CONFIG_FILE = "config.yaml"
VOCAB_FILE = "vocab.json"
#: Beside ``vocab.json``: the files its vocabularies name (SentencePiece models).
TOKENIZER_DIR = "tokenizer"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_STATE_FILE = "state.json"
LOCK_FILE = ".lock"
RECORD_DIR = ".hydra"
#: The ``vocab.json`` key of a streamed training file's fingerprint (size, pairs, CRC-32).
DATA_FINGERPRINT = "data_fingerprint"
#: Written first into every run directory: what makes a directory this project's run.
RUN_MARKER = ".seq2seq-run"
#: What may be in a directory before training claims it, besides the log files the launching
#: process has open there: the lock of a launch that died before its marker.
BEFORE_CLAIM = (LOCK_FILE,)
#: A log record with this attribute set (``extra={RUN_TAKEN: True}``) says the launch has
#: passed every check and taken the run directory: a log file kept in the run directory is
#: written from then on, never by a refused launch (see :class:`seq2seq.cli.RunLogHandler`).
RUN_TAKEN = "seq2seq_run_taken"

log = logging.getLogger(__name__)


class Checkpoint(NamedTuple):
    """A complete resumable checkpoint: its directory, the 0-based epoch it ends and the
    training seconds spent up to its end (over every resume)."""

    path: Path
    epoch: int
    seconds: float = 0.0
    #: Training had ended (its epochs run, or early stopping / the time budget stopped it):
    #: this checkpoint holds the final weights (the best epoch's with early stopping), and
    #: a resume only saves and evaluates them.
    ended: bool = False
    #: The epoch whose weights these are, when early stopping restored an earlier one.
    best_epoch: int | None = None
    #: ``trainer.epochs`` when training ended (a resume asking for more continues it).
    target_epochs: int | None = None
    #: ``trainer.max_minutes`` when training ended (a resume asking for more continues it).
    target_minutes: float | None = None

    @property
    def epochs_asked(self) -> int:
        """The epochs training was asked for when it ended (its epoch count if unknown)."""
        return self.target_epochs or self.epoch + 1

    @property
    def model_file(self) -> Path:
        """The compiled training model (weights and optimizer state)."""
        return self.path / MODEL_FILE


@dataclass(frozen=True)
class RunDir:
    """One training run's directory; every artifact's path and reader/writer."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    # --- names ---------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def vocab_file(self) -> Path:
        return self.path / VOCAB_FILE

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def history_file(self) -> Path:
        return self.path / HISTORY_FILE

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / TENSORBOARD_DIR

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT_DIR

    # --- state of the run ----------------------------------------------------------------
    def artifacts(self) -> list[str]:
        """The run artifacts present (any of them means the directory holds a run)."""
        names = (MODEL_FILE, VOCAB_FILE, HISTORY_FILE, METRICS_FILE, CHECKPOINT_DIR)
        return [name for name in names if (self.path / name).exists()]

    def clear_partial(self) -> None:
        """Removes what a run killed before its first checkpoint left behind (vocabulary,
        history, TensorBoard events, incomplete checkpoints), so it can start over."""
        for name in (MODEL_FILE, VOCAB_FILE, HISTORY_FILE, TENSORBOARD_DIR, CHECKPOINT_DIR):
            remove_path(self.path / name)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds the directory's lock (creating the directory) for the ``with`` block.

        Raises:
            Seq2SeqError: another process holds it, or the directory cannot be created.
        """
        lock_file = self.path / LOCK_FILE
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            # Never through a link, never onto something that is not a plain file: a link
            # planted as .lock would have the PID written over the file it points to.
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise Seq2SeqError(
                    f"cannot use run directory {self.path}: {lock_file} is a symbolic link"
                    " (remove it; training never writes through a link)"
                ) from None
            raise Seq2SeqError(f"cannot use run directory {self.path}: {os_reason(exc)}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise Seq2SeqError(f"cannot use run directory {self.path}: {lock_file} is not a file")
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise Seq2SeqError(
                    f"run directory {self.path} is in use by another training (pid {holder})"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the flock

    def refuse_foreign(self, opened_here: Sequence[str] = ()) -> None:
        """Refuses a directory that is not this project's run and is not empty (``/``, a
        user's folder, a directory with a ``model.keras`` of unknown origin): training never
        writes into it or deletes from it. Called before the lock is taken. ``opened_here``:
        the names of files the launching process itself has opened in it (its log file,
        which the command line's framework opened before training started).

        Raises:
            Seq2SeqError: naming the directory and a few of its entries.
        """
        if not self.path.exists() and not self.path.is_symlink():
            return
        if not self.path.is_dir():
            raise Seq2SeqError(f"run directory {self.path} exists and is not a directory")
        if is_run_dir(self.path):
            return
        allowed = {*BEFORE_CLAIM, *opened_here}
        entries = sorted(e.name for e in self.path.iterdir() if e.name not in allowed)
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise Seq2SeqError(
                f"run directory {self.path} is not empty and holds no seq2seq run ({shown}):"
                " training writes only into a new or empty directory or a run it made;"
                " choose another hydra.run.dir"
            )

    def mark(self) -> None:
        """Writes the run marker (under the lock, before anything else)."""
        if not (self.path / RUN_MARKER).is_file():
            atomic_write_text(self.path / RUN_MARKER, "seq2seq run directory\n")

    def is_finished(self) -> bool:
        """Whether training finished (``metrics.json`` is written last)."""
        return self.metrics_file.exists()

    def require(self, *names: str) -> None:
        """Raises a one-line error unless the directory exists and holds ``names``."""
        if not self.path.is_dir():
            raise Seq2SeqError(f"run directory not found: {self.path}")
        missing = [name for name in names if not (self.path / name).is_file()]
        if missing:
            raise Seq2SeqError(
                f"run directory {self.path} is incomplete: missing {', '.join(missing)}"
                " (did training finish?)"
            )

    # --- config.yaml ---------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        """Writes the resolved config (plain values only)."""
        text = yaml.safe_dump(config, default_flow_style=False, allow_unicode=True, sort_keys=False)
        atomic_write_text(self.config_file, text)

    def read_config(self) -> dict[str, Any]:
        """The resolved config, read with ``yaml.safe_load`` (no object construction)."""
        if not self.config_file.is_file():
            raise Seq2SeqError(
                f"{self.config_file} not found (is {self.path} a training run directory?)"
            )
        try:
            config = yaml.safe_load(read_run_bytes(self.config_file, "config").decode("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise Seq2SeqError(f"cannot read {self.config_file}: {exc}") from None
        if not isinstance(config, dict):
            raise Seq2SeqError(f"{self.config_file} does not hold a config mapping")
        return config

    def write_record(self, files: dict[str, str]) -> None:
        """Writes the launch record ``.hydra/<name>`` (e.g. Hydra's composed config and the
        overrides); only a launch that has taken the directory writes it."""
        if files:
            (self.path / RECORD_DIR).mkdir(exist_ok=True)
        for name, text in files.items():
            atomic_write_text(self.path / RECORD_DIR / name, text)

    # --- model.keras ---------------------------------------------------------------------
    def save_model(self, model: Any) -> None:
        """Saves a Keras model (anything with ``.save(path)``) as ``model.keras``."""
        atomic_write(self.model_file, model.save)

    # --- history.csv ---------------------------------------------------------------------
    def read_history(self) -> list[dict[str, str]]:
        """The rows of ``history.csv`` (none if it does not exist yet)."""
        if not self.history_file.is_file():
            return []
        with self.history_file.open(newline="") as f:
            return list(csv.DictReader(f))

    def truncate_history(self, epochs: int) -> None:
        """Keeps the header and the rows of epochs ``0 .. epochs-1``."""
        if not self.history_file.is_file():
            return
        with self.history_file.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        kept = [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) < epochs]

        def write(tmp: Path) -> None:
            with tmp.open("w", newline="") as f:
                csv.writer(f).writerows([rows[0], *kept])

        atomic_write(self.history_file, write)

    # --- metrics.json --------------------------------------------------------------------
    def write_metrics(self, metrics: dict[str, Any]) -> None:
        """Writes the final metrics (flat keys); written last, it marks a finished run."""
        write_json(self.metrics_file, metrics)

    # --- checkpoints/ --------------------------------------------------------------------
    def checkpoints(self) -> list[Checkpoint]:
        """Complete checkpoints, oldest first."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = []
        for p in self.checkpoint_dir.glob("epoch-*"):
            state = p / CHECKPOINT_STATE_FILE
            if not (state.is_file() and (p / MODEL_FILE).is_file()):
                continue
            try:
                payload = json.loads(read_run_bytes(state, "checkpoint state").decode("utf-8"))
                epoch, seconds = payload["epoch"], float(payload.get("seconds", 0.0))
                best, target = payload.get("best_epoch"), payload.get("target_epochs")
                for value in (epoch, best or 0, target or 0):
                    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                        raise ValueError(f"bad epoch {value!r}")
                ended = payload.get("ended", False) is True
                minutes = payload.get("target_minutes")
                minutes = None if minutes is None else float(minutes)
            except (OSError, ValueError, KeyError, TypeError, AttributeError, Seq2SeqError) as exc:
                log.warning("ignoring checkpoint %s: unreadable %s (%s)", p, state.name, exc)
                continue
            found.append(Checkpoint(p, epoch, seconds, ended, best, target, minutes))
        return sorted(found, key=lambda ckpt: ckpt.epoch)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest complete checkpoint, or None."""
        found = self.checkpoints()
        return found[-1] if found else None

    def write_checkpoint(
        self,
        model: Any,
        epoch: int,
        keep: int,
        seconds: float = 0.0,
        ended: bool = False,
        best_epoch: int | None = None,
        target_epochs: int | None = None,
        target_minutes: float | None = None,
    ) -> None:
        """Saves ``model`` (with its optimizer) as the checkpoint of 0-based ``epoch``, which
        ended after ``seconds`` of training; keeps the newest ``keep`` checkpoints. With
        ``ended``, training is over (see :attr:`Checkpoint.ended`)."""

        def write(tmp: Path) -> None:
            tmp.mkdir()
            model.save(tmp / MODEL_FILE)
            state: dict[str, Any] = {"epoch": epoch, "seconds": round(seconds, 1)}
            if ended:
                state.update(ended=True, best_epoch=best_epoch, target_epochs=target_epochs,
                             target_minutes=target_minutes)  # fmt: skip
            (tmp / CHECKPOINT_STATE_FILE).write_text(json.dumps(state))

        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.checkpoint_dir / checkpoint_name(epoch), write)
        for old in self.checkpoints()[: -max(1, keep)]:
            shutil.rmtree(old.path, ignore_errors=True)


def checkpoint_name(epoch: int) -> str:
    """The folder of the checkpoint taken after 0-based ``epoch``: the epochs done, as the
    log counts them (``epoch-0003`` after "epoch 3/6")."""
    return f"epoch-{epoch + 1:04d}"


#: What a run directory owns: its artifacts, and everything under its directories.
RUN_FILES = (CONFIG_FILE, VOCAB_FILE, MODEL_FILE, HISTORY_FILE, METRICS_FILE, LOCK_FILE, RUN_MARKER)
RUN_DIRS = (CHECKPOINT_DIR, TENSORBOARD_DIR, RECORD_DIR, TOKENIZER_DIR)


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a training run: the run marker, or (a run of an earlier version)
    a ``config.yaml`` beside a ``vocab.json``."""
    path = Path(path)
    if (path / RUN_MARKER).is_file() and not (path / RUN_MARKER).is_symlink():
        return True
    return (path / CONFIG_FILE).is_file() and (path / VOCAB_FILE).is_file()
