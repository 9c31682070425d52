"""Data sources, registered by ``data.name`` (``data=<name>``): each owns its settings.

A source is a class with a frozen dataclass ``options`` (the ``data.*`` settings, their
defaults and checks; ``configs/data/<name>.yaml`` picks the defaults up from Hydra's
ConfigStore) and a ``load`` that returns :class:`~seq2seq.data.splits.Splits`. A source
that reads files can also ``stream`` them (``data.streaming=true``). A new source is one
module in this package that registers itself with ``@DATA_SOURCES.register("<name>")``,
plus ``configs/data/<name>.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from seq2seq.checks import positive, switch
from seq2seq.data.splits import Splits
from seq2seq.errors import Seq2SeqError
from seq2seq.registry import Registry

DATA_SOURCES: Registry = Registry("data source", "data.name")


@dataclass(frozen=True)
class SourceOptions:
    """Settings every source has.

    Attributes:
        max_length: drop pairs whose source or target is longer than this many characters
            (None: keep all).
        streaming: read the training pairs from disk on every pass (sources with files).
    """

    max_length: int | None = None
    streaming: bool = False

    def __post_init__(self) -> None:
        for key in ("max_length", "num_samples", "val_size", "test_size"):
            value = getattr(self, key, None)
            if value is not None:
                positive(f"data.{key}", value)
        switch("data.streaming", self.streaming)


@dataclass(frozen=True)
class FileSourceOptions(SourceOptions):
    """Settings of every source that reads a user's corpus (tsv, parallel, hf): how many
    pairs, and how validation and test pairs are held out when the corpus has no sets of its
    own.

    Attributes:
        num_samples: use the first N usable training pairs (None: all).
        val_fraction: share of the pairs held out for validation.
        test_fraction: share of the pairs held out for testing.
        val_size: exact held-out validation count, overriding the fraction (big corpora).
        test_size: exact held-out test count, overriding the fraction.
        seed: seed of the held-out draw (None: a fresh draw each time).
        strict: refuse the corpus at its first bad line or row instead of skipping it.
        max_length: drop pairs whose source or target is longer than this many characters.
    """

    num_samples: int | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    val_size: int | None = None
    test_size: int | None = None
    seed: int | None = 0
    strict: bool = False
    max_length: int | None = 256


class DataSource:
    """A registered source of sentence pairs."""

    #: Registry name (``data.name``); set by ``DATA_SOURCES.register``.
    name: ClassVar[str] = ""
    #: The source's ``data.*`` settings (a frozen dataclass of :class:`SourceOptions`).
    options: ClassVar[type] = SourceOptions

    @classmethod
    def load(cls, opts: Any) -> Splits:
        """The train / validation / test pairs, in memory."""
        raise NotImplementedError

    @classmethod
    def stream(cls, opts: Any) -> Splits:
        """The splits with the training pairs left on disk (``data.streaming=true``)."""
        raise Seq2SeqError(
            f"data.streaming=true streams a file: data={cls.name} has none (data=tsv has)"
        )
