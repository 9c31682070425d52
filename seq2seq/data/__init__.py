"""Data: the built-in dates task, the Anki reader, splits and the ``tf.data`` pipeline.

The task loaders return plain Python :class:`Splits`; only :mod:`seq2seq.data.pipeline`
touches TensorFlow.
"""

from __future__ import annotations

import logging
from typing import Any

from seq2seq.data.anki import load_anki, read_anki
from seq2seq.data.dates import load_dates
from seq2seq.data.splits import Pair, Splits, filter_long, split_pairs
from seq2seq.data.stream import StreamedPairs, stream_anki
from seq2seq.errors import Seq2SeqError

TASKS = ("dates", "anki")
# Without data.max_length, a training pair longer than this is worth a warning.
LONG_PAIR = 1000
log = logging.getLogger(__name__)


def load_task(name: str, max_length: int | None = None, **options: Any) -> Splits:
    """Loads a task by name (``dates`` or ``anki``) with its options from the data config.

    Pairs longer than ``max_length`` characters (either side) are dropped when it is set, so
    every consumer of a run's config (training, evaluation, benchmark) sees the same splits.

    Raises:
        Seq2SeqError: unknown task name or bad options.
    """
    if options.pop("streaming", False):
        return _stream(name, max_length, **options)
    splits = _load(name, **options)
    if max_length:
        return filter_long(splits, int(max_length))
    longest = max((max(len(s), len(t)) for s, t in splits.train), default=0)
    if longest > LONG_PAIR:
        log.warning(
            "the longest training pair has %d characters: each batch holding it runs %d"
            " steps, which can stall an epoch (data.max_length=N drops longer pairs)",
            longest,
            longest,
        )
    return splits


def _stream(name: str, max_length: int | None, **options: Any) -> Splits:
    """``data.streaming=true``: the training pairs stay on disk (anki only)."""
    if name != "anki":
        raise Seq2SeqError(f"data.streaming=true reads files: data={name} has none (use data=anki)")
    return stream_anki(
        _path(options),
        val_size=options.get("val_size"),
        test_size=options.get("test_size"),
        num_samples=options.get("num_samples"),
        reverse=bool(options.get("reverse", False)),
        seed=options.get("seed"),
        strict=bool(options.get("strict", False)),
        max_length=int(max_length) if max_length else None,
    )


def _path(options: dict[str, Any]) -> str:
    path = options.get("path")
    if not path:
        raise Seq2SeqError("data.path is required for data=anki (e.g. data.path=fra.txt)")
    return path


def _load(name: str, **options: Any) -> Splits:
    if name == "dates":
        return load_dates(
            num_samples=int(options["num_samples"]),
            val_fraction=float(options.get("val_fraction", 0.1)),
            test_fraction=float(options.get("test_fraction", 0.1)),
            seed=int(options.get("seed") or 0),
            languages=options.get("languages"),
        )
    if name == "anki":
        return load_anki(
            _path(options),
            num_samples=options.get("num_samples"),
            reverse=bool(options.get("reverse", False)),
            val_fraction=float(options.get("val_fraction", 0.1)),
            test_fraction=float(options.get("test_fraction", 0.1)),
            seed=options.get("seed"),
            strict=bool(options.get("strict", False)),
            val_size=options.get("val_size"),
            test_size=options.get("test_size"),
        )
    raise Seq2SeqError(f"unknown data task {name!r} (data.name); choose one of {list(TASKS)}")


__all__ = [
    "Pair",
    "Splits",
    "StreamedPairs",
    "filter_long",
    "load_anki",
    "load_dates",
    "load_task",
    "read_anki",
    "split_pairs",
    "stream_anki",
]
