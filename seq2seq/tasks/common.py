"""What every task does with its config: plain values, required and optional settings."""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig

from seq2seq.checks import positive
from seq2seq.errors import Seq2SeqError
from seq2seq.lexicon import read_lexicon
from seq2seq.settings import plain
from seq2seq.translation import Translator

log = logging.getLogger(__name__)


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


def given_texts(key: str, value: Any) -> tuple[str, ...] | None:
    """The texts of a setting given on the command line (a string, or a list of strings;
    None when unset).

    Hydra reads an unquoted ``1.50`` as the number 1.5 and splits ``[Nov 28, 2026]`` on its
    comma into the text ``Nov 28`` and the number 2026: a text that did not arrive as one is
    refused, with the quoting that keeps it whole, rather than translated wrongly.

    Raises:
        Seq2SeqError: a value that is not a text, with the right quoting.
    """
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    wrong = next((x for x in items if not isinstance(x, str)), None)
    if isinstance(value, dict) or (wrong is None and items is not value and not items):
        raise Seq2SeqError(f"{key} must be a text or a list of texts, got {value!r}")
    if wrong is not None:
        kind = ("a list" if isinstance(wrong, list) else "null" if wrong is None
                else "a boolean" if isinstance(wrong, bool) else "a number")  # fmt: skip
        whole = ", ".join(_as_typed(x) for x in items)
        example = f"\"{key}=['{whole}']\"" if isinstance(value, list) else f"\"{key}='{whole}'\""
        raise Seq2SeqError(
            f"{key}: {_as_typed(wrong)} was read as {kind}, not a text (Hydra reads unquoted"
            f" numbers as numbers and splits lists on commas); quote each text inside the"
            f" shell's quotes, e.g. {example}"
        )
    return tuple(items)


def _as_typed(value: Any) -> str:
    """How a value Hydra parsed was most likely typed."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
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


def open_translator(run_dirs: Sequence[str], lexicon: str | None = None) -> Translator:
    """The translator of a run (or an ensemble's), answering from the ``lexicon`` file first
    when one is given (read before the model loads, so a bad file fails fast)."""
    entries = read_lexicon(lexicon) if lexicon else {}
    translator = Translator.from_run_dirs(run_dirs)
    translator.lexicon = entries
    if entries:
        log.info("lexicon %s: %d entries answered before the model", lexicon, len(entries))
    freeze_loaded_objects()
    return translator


def freeze_loaded_objects() -> None:
    """Leaves the objects loaded so far (TensorFlow's and the model's: about 400,000 for the
    dates run) out of the garbage collector's full passes, once per process. A full pass over
    them takes about 150 ms, and the outputs of a few large batches set one off. (A cycle
    among frozen objects is never collected: a command holds its model to the end.)"""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
