"""Value checks shared by the config records and the model options: one message per kind."""

from __future__ import annotations

import math
from typing import Any

from seq2seq.errors import Seq2SeqError


def positive(key: str, value: Any, kind: type = int) -> Any:
    """``value`` if it is a positive number (a whole one for ``kind=int``), else an error."""
    what = "a positive integer" if kind is int else "a positive number"
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    if not math.isfinite(value) or (kind is int and int(value) != value) or value <= 0:
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    return kind(value)


def non_negative(key: str, value: Any, kind: type = int) -> Any:
    """``value`` if it is 0 or a positive number (a whole one for ``kind=int``), else an
    error."""
    what = "0 or a positive integer" if kind is int else "0 or a positive number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    if not 0 <= value < math.inf or (kind is int and int(value) != value):
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    return kind(value)


def switch(key: str, value: Any) -> bool:
    """``value`` if it is true or false, else an error."""
    if not isinstance(value, bool):
        raise Seq2SeqError(f"{key} must be true or false, got {value!r}")
    return value


def fraction(key: str, value: Any) -> float:
    """``value`` if it is a number in ``[0, 1)``, else an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise Seq2SeqError(f"{key} must be in [0, 1), got {value!r}")
    return float(value)
