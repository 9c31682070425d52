"""Where a command may write: the one rule for every output file and directory a user
names (``output=``, ``output_dir=``, ``eval_dir=``): never a file or folder a run directory
owns (a resume prunes them), never an input, and checked before any long work."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from seq2seq.errors import Seq2SeqError
from seq2seq.files import os_reason, write_target
from seq2seq.rundir import RUN_DIRS, RUN_FILES, is_run_dir


def check_output_file(path: str | Path, key: str, inputs: Sequence[str | Path] = ()) -> Path:
    """Refuses, before any long work, an output file that :func:`write_user_file` could not
    write (a directory, a missing parent directory, or a directory in which no file can be
    created, probed) or must not write: one of ``inputs``, or a file a run directory owns
    (:func:`run_owned`). A special file (``/dev/null``, a pipe) is accepted as it is.

    Raises:
        Seq2SeqError: one line naming ``key`` and the path.
    """
    path = Path(path)
    target = write_target(path)
    for source in inputs:
        if target.is_file() and Path(source).exists() and target.samefile(source):
            raise Seq2SeqError(f"{key} {path} is the input file {source}: it would be overwritten")
    owner = run_owned(path)
    if owner is not None:
        raise Seq2SeqError(
            f"{key} {path} is a file of the run directory {owner}: writing it would break the"
            " run; choose another name"
        )
    if target.is_dir():
        raise Seq2SeqError(f"{key} {path} is a directory")
    if target.exists() and not target.is_file():
        return path
    if not target.parent.is_dir():
        raise Seq2SeqError(f"{key} {path}: directory not found: {target.parent}")
    _probe(target.parent, key, path)
    return path


def refuse_run_owned_dir(path: str | Path, key: str) -> Path:
    """The one rule for every command's output directory: it is never a folder a run
    directory manages (``checkpoints/``, ``tensorboard/``, ``.hydra/``, ``tokenizer/``) or
    inside one, whatever the path's form (relative, with ``..``, through links), because
    the run rewrites or prunes those folders (a resume deletes old checkpoints).

    Raises:
        Seq2SeqError: one line naming ``key``, the path and the run.
    """
    path = Path(path)
    owner = run_owned(path / ".probe")  # would a file written in it belong to a run?
    if owner is not None:
        raise Seq2SeqError(
            f"{key} {path} is inside the run directory {owner}'s own folders, which the run"
            f" rewrites or prunes; choose a directory outside {', '.join(RUN_DIRS)}"
        )
    return path


def prepare_output_dir(path: str | Path, key: str) -> Path:
    """Creates the output directory ``path`` (and its parents) and checks, before any long
    work, that files can be created in it and that it is no run's own folder
    (:func:`refuse_run_owned_dir`).

    Raises:
        Seq2SeqError: one line naming ``key`` and the path.
    """
    path = refuse_run_owned_dir(path, key)
    if path.exists() and not path.is_dir():
        raise Seq2SeqError(f"{key} {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Seq2SeqError(f"cannot create {key} {path}: {os_reason(exc)}") from None
    _probe(path, key, path)
    return path


def _probe(directory: Path, key: str, named: Path) -> None:
    """Creates and removes a hidden file in ``directory``; an error naming ``key`` if not."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as exc:
        raise Seq2SeqError(
            f"cannot write {key} {named}: no file can be created in {directory} ({os_reason(exc)})"
        ) from None


def run_owned(path: str | Path) -> Path | None:
    """The run directory that owns the file ``path`` would write (following links), if any:
    one of :data:`RUN_FILES` in a run directory, or anything under one of its
    :data:`RUN_DIRS`. Other files in a run directory (``eval/``, a user's notes) are not
    the run's."""
    target = Path(os.path.abspath(Path(path).resolve()))
    if target.name in RUN_FILES and is_run_dir(target.parent):
        return target.parent
    for parent in target.parents:
        if parent.name in RUN_DIRS and is_run_dir(parent.parent):
            return parent.parent
    return None
