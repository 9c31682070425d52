"""Value checks shared by the config records and the model options: one message per kind."""

from __future__ import annotations

import math
from typing import Any

from seq2seq.errors import Seq2SeqError

#: The largest whole number a setting may hold: the graph keeps counts and lengths in int32.
INT32_MAX = 2**31 - 1


def _at_most(key: str, value: Any, at_most: float | None, kind: type) -> None:
    limit = INT32_MAX if at_most is None and kind is int else at_most
    if limit is not None and value > limit:
        raise Seq2SeqError(f"{key} must be at most {limit}, got {value!r}")


def positive(key: str, value: Any, kind: type = int, at_most: float | None = None) -> Any:
    """``value`` if it is a positive number (a whole one for ``kind=int``) no larger than
    ``at_most`` (for whole numbers, at most :data:`INT32_MAX` by default), else an error."""
    what = "a positive integer" if kind is int else "a positive number"
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    if not math.isfinite(value) or (kind is int and int(value) != value) or value <= 0:
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    _at_most(key, value, at_most, kind)
    return kind(value)


def non_negative(key: str, value: Any, kind: type = int, at_most: float | None = None) -> Any:
    """``value`` if it is 0 or a positive number (a whole one for ``kind=int``) no larger than
    ``at_most`` (for whole numbers, at most :data:`INT32_MAX` by default), else an error."""
    what = "0 or a positive integer" if kind is int else "0 or a positive number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    if not 0 <= value < math.inf or (kind is int and int(value) != value):
        raise Seq2SeqError(f"{key} must be {what}, got {value!r}")
    _at_most(key, value, at_most, kind)
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
