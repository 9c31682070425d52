"""What every task does with its config: plain values, required and optional settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from seq2seq.checks import positive
from seq2seq.errors import Seq2SeqError
from seq2seq.settings import plain
from seq2seq.translation import split_lines


def config_values(cfg: DictConfig) -> dict[str, Any]:
    """The task's config, resolved, as plain Python values (``hydra`` left out)."""
    values = plain(cfg)
    if not isinstance(values, dict):
        raise Seq2SeqError("the config must be a mapping of settings")
    return values


def required_path(values: dict[str, Any], key: str, usage: str) -> str:
    """The path setting ``key``, or a one-line error that shows ``usage``."""
    value = values.get(key)
    if value is None or value == "" or isinstance(value, (dict, list, bool)):
        raise Seq2SeqError(f"{key} is required: {usage}")
    return str(value)


def optional_path(values: dict[str, Any], key: str) -> str | None:
    """The path setting ``key`` (None when unset or empty)."""
    value = values.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list, bool)):
        raise Seq2SeqError(f"{key} must be a path, got {value!r}")
    return str(value)


def batch_size(values: dict[str, Any], default: int = 256) -> int:
    """``batch_size``: inputs decoded per call of the compiled loop."""
    return positive("batch_size", values.get("batch_size", default))


def run_dirs(values: dict[str, Any], usage: str) -> tuple[str, ...]:
    """``run_dir``, or the runs of an ensemble (``run_dirs=[a,b]``), never both."""
    many = values.get("run_dirs")
    if many is None:
        return (required_path(values, "run_dir", usage),)
    if not isinstance(many, list) or not many or any(isinstance(x, (dict, list)) for x in many):
        raise Seq2SeqError(f"run_dirs must be a list of run directories, got {many!r}")
    if optional_path(values, "run_dir"):
        raise Seq2SeqError("give either run_dir=... or run_dirs=[...] (an ensemble), not both")
    return tuple(str(x) for x in many)


def read_text_lines(path: str, key: str) -> list[str]:
    """The lines of a UTF-8 text file (``\n`` or ``\r\n`` ends), one-line errors."""
    try:
        return split_lines(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise Seq2SeqError(f"{key} file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise Seq2SeqError(f"{key} file {path} is not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise Seq2SeqError(f"cannot read {key} file {path}: {exc.strerror}") from None
