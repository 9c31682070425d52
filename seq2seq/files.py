"""Reading the small files a run directory holds (``vocab.json``, ``config.yaml``, a
checkpoint's ``state.json``, SentencePiece models) as untrusted input: a name planted as a
link to ``/dev/zero``, a FIFO, a device or a huge sparse file is refused in one line
instead of hanging the reader or exhausting its memory. A leaf: imports nothing of the
project but its error type.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
