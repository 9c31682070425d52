"""Value checks shared by the config records and the model options: one message per kind."""

from __future__ import annotations

from typing import Any

from seq2seq.errors import Seq2SeqError


def positive(key: str, value: Any, kind: type = int) -> Any:
    """``value`` if it is a positive number (a whole one for ``kind=int``), else an error."""
    what = "a positive integer" if kind is int else "a positive number"
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    if (kind is int and int(value) != value) or value <= 0:
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    return kind(value)


def fraction(key: str, value: Any) -> float:
    """``value`` if it is a number in ``[0, 1)``, else an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise Seq2SeqError(f"{key} must be in [0, 1), got {value!r}")
    return float(value)
