"""Data: registered sources (the built-in dates task, Anki files), splits and ``tf.data``.

``load_task(name, **options)`` loads the source registered as ``data.name`` with its
``data.*`` settings. The sources return plain Python :class:`Splits`; only
:mod:`seq2seq.data.pipeline` touches TensorFlow.
"""

from __future__ import annotations

import logging
from typing import Any

from seq2seq.data.anki import AnkiOptions, AnkiSource, TsvOptions, TsvSource, load_anki, read_anki
from seq2seq.data.dates import DatesOptions, DatesSource, load_dates
from seq2seq.data.hf import HfOptions, HfSource
from seq2seq.data.parallel import ParallelOptions, ParallelSource, read_parallel
from seq2seq.data.sources import DATA_SOURCES, DataSource, SourceOptions
from seq2seq.data.splits import Pair, Splits, filter_long, split_pairs
from seq2seq.data.stream import StreamedPairs, stream_anki
from seq2seq.registry import import_modules, make_options

# Every module registers its sources on import, a new one included (the pipeline alone needs
# TensorFlow, which --help must not wait for).
import_modules(__name__, __path__, skip=("__main__", "pipeline"))

# Without data.max_length, a training pair longer than this is worth a warning.
LONG_PAIR = 1000
log = logging.getLogger(__name__)


def data_options(name: str, **options: Any) -> Any:
    """The checked ``data.*`` settings of source ``name``.

    Raises:
        Seq2SeqError: unknown source, unknown key or a bad value, naming the key.
    """
    return make_options(DATA_SOURCES.get(name).options, "data", options)


def load_task(name: str, **options: Any) -> Splits:
    """Loads the source registered as ``name`` with its ``data.*`` settings.

    Pairs longer than ``max_length`` characters (either side) are dropped when it is set, so
    every consumer of a run's config (training, evaluation, benchmark) sees the same splits.

    Raises:
        Seq2SeqError: unknown source name or bad options.
    """
    source = DATA_SOURCES.get(name)
    opts = data_options(name, **options)
    if opts.streaming:
        return source.stream(opts)
    splits = source.load(opts)
    if opts.max_length:
        return filter_long(splits, int(opts.max_length))
    longest = max((max(len(s), len(t)) for s, t in splits.train), default=0)
    if longest > LONG_PAIR:
        log.warning(
            "the longest training pair has %d characters: each batch holding it runs %d"
            " steps, which can stall an epoch (data.max_length=N drops longer pairs)",
            longest,
            longest,
        )
    return splits


__all__ = [
    "DATA_SOURCES",
    "AnkiOptions",
    "AnkiSource",
    "DataSource",
    "DatesOptions",
    "DatesSource",
    "HfOptions",
    "HfSource",
    "Pair",
    "ParallelOptions",
    "ParallelSource",
    "SourceOptions",
    "Splits",
    "StreamedPairs",
    "TsvOptions",
    "TsvSource",
    "data_options",
    "filter_long",
    "load_anki",
    "load_dates",
    "load_task",
    "read_anki",
    "read_parallel",
    "split_pairs",
    "stream_anki",
]
