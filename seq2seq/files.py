"""File I/O, a leaf (it imports nothing of the project but its error type):

* **atomic writes** (:func:`atomic_write`): into a hidden sibling, then renamed over the
  final name, so a kill at any instant leaves the old version or the new one, never half a
  file; :func:`write_json`, :func:`atomic_write_text`;
* **files the user names** (:func:`write_user_file`): through a symlink, or into a special
  file such as ``/dev/stdout``;
* **reading the small files a run directory holds** (:func:`read_run_bytes`: ``vocab.json``,
  ``config.yaml``, a checkpoint's ``state.json``, SentencePiece models) as untrusted input: a
  name planted as a link to ``/dev/zero``, a FIFO, a device or a huge sparse file is refused
  in one line instead of hanging the reader or exhausting its memory.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seq2seq.errors import Seq2SeqError

#: The largest file of each kind a reader takes (far above what training writes).
MOST_BYTES = {"vocabulary": 64 << 20, "SentencePiece model": 64 << 20, "config": 16 << 20,
              "checkpoint state": 1 << 20}  # fmt: skip


def read_run_bytes(path: str | Path, what: str) -> bytes:
    """The bytes of the regular file ``path`` holding a ``what`` (a key of
    :data:`MOST_BYTES`); opened without blocking (a FIFO never hangs the reader) and
    checked for its kind and size before it is read.

    Raises:
        FileNotFoundError: there is no such file (callers say what was expected).
        Seq2SeqError: anything else, in one line naming the file.
    """
    path = Path(path)
    most = MOST_BYTES[what]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Seq2SeqError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Seq2SeqError(f"{path} is not a regular file: it cannot be a {what}")
        if info.st_size > most:
            raise Seq2SeqError(
                f"{path} is {info.st_size:,} bytes, more than a {what} can be ({most:,})"
            )
        data = f.read(most + 1)
    if len(data) > most:  # grew while read
        raise Seq2SeqError(f"{path} is more than a {what} can be ({most:,} bytes)")
    return data


def remove_path(path: Path) -> None:
    """Removes a file, a link or a directory tree, if there is one."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Calls ``write(tmp)`` for a hidden temporary sibling of ``path``, then renames it to
    ``path`` (replacing a file, or a directory, of that name).

    ``tmp`` keeps ``path``'s suffix (``.model.tmp.keras`` for ``model.keras``), so writers
    that check the extension accept it. A failed write leaves ``path`` untouched and no
    temporary behind.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    remove_path(tmp)
    try:
        write(tmp)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # a directory cannot be renamed over a non-empty one
        os.replace(tmp, path)
    except BaseException:
        remove_path(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Writes ``text`` (UTF-8, ``\\n`` line ends) to ``path`` with :func:`atomic_write`."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def write_user_file(path: str | Path, text: str) -> Path:
    """Writes ``text`` to a file the user named (``output_file=``...), through whatever the
    name is: a symlink keeps pointing where it did (its target is replaced atomically), and a
    special file (``/dev/stdout``, ``/dev/null``, a pipe) is written in place.

    Raises:
        Seq2SeqError: the file cannot be written (one line, naming it).
    """
    path = Path(path)
    try:
        target = write_target(path)
        if target.exists() and not target.is_file():
            with target.open("w", encoding="utf-8", newline="") as f:
                f.write(text)
            return path
        atomic_write_text(target, text)
    except OSError as exc:
        raise Seq2SeqError(f"cannot write {path}: {os_reason(exc)}") from None
    return path


def write_json(path: str | Path, payload: dict[str, Any]) -> Path:
    """Writes ``payload`` as indented, key-sorted JSON with :func:`atomic_write`."""
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return atomic_write_text(path, text)


def write_target(path: Path) -> Path:
    """Where writing ``path`` lands: a symlink's target (the link itself stays)."""
    return path.resolve() if path.is_symlink() else path


def os_reason(exc: OSError) -> str:
    """What went wrong, in the operating system's words."""
    return exc.strerror or str(exc)
