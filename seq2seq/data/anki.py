"""Reader for sentence-pair files in the Anki / Tatoeba format (manythings.org/anki).

Each line is ``source<TAB>target`` or ``source<TAB>target<TAB>attribution``; the third
column, when present, is ignored. Files are read as UTF-8 (a UTF-8 byte-order mark is
ignored); a file that starts with a UTF-16 or UTF-32 byte-order mark is decoded as such.
Bad lines (no tab, an empty side, undecodable bytes, NUL bytes) are skipped with one warning
that counts them and names the first few ``file:line`` positions; with ``strict=True``
the first bad line is an error instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seq2seq.checks import non_negative
from seq2seq.data.lines import (  # noqa: F401 - also importable from here, as before
    BOMS,
    MAX_REPORTED,
    decode_line,
    raw_lines,
    report_bad_lines,
)
from seq2seq.data.sources import DATA_SOURCES, DataSource, FileSourceOptions
from seq2seq.data.splits import Pair, Splits, split_pairs
from seq2seq.errors import Seq2SeqError

log = logging.getLogger(__name__)

#: The columns of the source and the target in a tab-separated line (0-based).
DEFAULT_COLUMNS = (0, 1)


def _parse_line(raw: bytes, columns: tuple[int, int] = DEFAULT_COLUMNS) -> tuple[Pair | None, str]:
    """Parses one raw line; returns the pair, or None and the reason it is bad."""
    line, why = decode_line(raw)
    if line is None:
        return None, why
    fields = line.split("\t")
    if len(fields) < 2:
        return None, "no tab between source and target"
    if max(columns) >= len(fields):
        return None, f"{len(fields)} columns, no column {max(columns)}"
    source, target = fields[columns[0]].strip(), fields[columns[1]].strip()
    if not source or not target:
        return None, "empty source or target"
    return (source, target), ""


def read_anki(
    path: str | Path,
    num_samples: int | None = None,
    reverse: bool = False,
    strict: bool = False,
    columns: tuple[int, int] = DEFAULT_COLUMNS,
) -> list[Pair]:
    """Reads up to ``num_samples`` pairs from an Anki/Tatoeba file.

    Args:
        path: the file.
        num_samples: keep the first N good pairs (None or 0 keeps all), like the Keras example.
        reverse: swap the columns (translate the second language into the first).
        strict: raise on the first bad line instead of skipping it.
        columns: the 0-based columns of the source and the target.

    Raises:
        Seq2SeqError: the file is missing or unreadable, holds no usable pair, or (strict)
            holds a bad line.
    """
    bad: list[str] = []
    pairs = list(iter_anki(path, num_samples, reverse, strict, bad, columns))
    report_bad_lines(path, bad)
    if not pairs:
        first = f" (first bad line: {bad[0]})" if bad else ""
        raise Seq2SeqError(f"no usable source<TAB>target pairs in {path}{first}")
    return pairs


def iter_anki(
    path: str | Path,
    num_samples: int | None = None,
    reverse: bool = False,
    strict: bool = False,
    bad: list[str] | None = None,
    columns: tuple[int, int] = DEFAULT_COLUMNS,
) -> Iterator[Pair]:
    """The good pairs of an Anki/Tatoeba file, read as they are needed (see :func:`read_anki`);
    the ``file:line: reason`` of each skipped bad line is appended to ``bad``."""
    path = Path(path)
    if not path.is_file():
        raise Seq2SeqError(f"data file not found: {path}")
    count = 0
    try:
        for lineno, raw in enumerate(raw_lines(path), 1):
            if num_samples and count >= num_samples:
                return
            pair, why = _parse_line(raw, columns)
            if pair is None:
                where = f"{path}:{lineno}: {why}"
                if strict:
                    raise Seq2SeqError(f"bad line {where} (data.strict=true)")
                if bad is not None:
                    bad.append(where)
                continue
            count += 1
            yield (pair[1], pair[0]) if reverse else pair
    except OSError as exc:
        raise Seq2SeqError(f"cannot read data file {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class TsvOptions(FileSourceOptions):
    """``data=tsv`` settings; the sample count, held-out sizes, seed, ``strict`` and
    ``max_length`` are :class:`~seq2seq.data.sources.FileSourceOptions`'.

    Attributes:
        path: the file (relative paths resolve against the launch directory); required.
        source_column: the 0-based column of the source sentence.
        target_column: the 0-based column of the target sentence.
        reverse: swap the columns (translate the second language into the first).
    """

    path: str | None = None
    source_column: int = 0
    target_column: int = 1
    reverse: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.path:
            raise Seq2SeqError(
                f"data.path is required for data={self.source_name} (e.g. data.path=fra.txt)"
            )
        for key in ("source_column", "target_column"):
            non_negative(f"data.{key}", getattr(self, key), at_most=1000)
        if self.source_column == self.target_column:
            raise Seq2SeqError("data.source_column and data.target_column must differ")

    @property
    def source_name(self) -> str:
        return "tsv"

    @property
    def columns(self) -> tuple[int, int]:
        """``(source_column, target_column)``."""
        return (self.source_column, self.target_column)


@dataclass(frozen=True)
class AnkiOptions(TsvOptions):
    """``data=anki``: ``data=tsv`` with the Keras example's ``num_samples`` (10,000)."""

    num_samples: int | None = 10_000

    @property
    def source_name(self) -> str:
        return "anki"


@DATA_SOURCES.register("tsv")
class TsvSource(DataSource):
    """Sentence pairs from a tab-separated file (Anki / Tatoeba files among them)."""

    options = TsvOptions

    @classmethod
    def load(cls, opts: TsvOptions) -> Splits:
        keys = ("num_samples", "reverse", "val_fraction", "test_fraction", "seed", "strict")
        sizes = {"val_size": opts.val_size, "test_size": opts.test_size}
        return load_anki(opts.path, **{k: getattr(opts, k) for k in keys}, **sizes,
                         columns=opts.columns)  # fmt: skip

    @classmethod
    def stream(cls, opts: TsvOptions) -> Splits:
        from seq2seq.data.stream import stream_anki  # it reads files with this module

        return stream_anki(
            opts.path,
            val_size=opts.val_size,
            test_size=opts.test_size,
            num_samples=opts.num_samples,
            reverse=opts.reverse,
            seed=opts.seed,
            strict=opts.strict,
            max_length=opts.max_length,
            columns=opts.columns,
        )


@DATA_SOURCES.register("anki")
class AnkiSource(TsvSource):
    """``data=tsv`` under the Keras example's name and sample count."""

    options = AnkiOptions


def load_anki(
    path: str | Path,
    num_samples: int | None = None,
    reverse: bool = False,
    val_fraction: float = AnkiOptions.val_fraction,
    test_fraction: float = AnkiOptions.test_fraction,
    seed: int | None = AnkiOptions.seed,
    strict: bool = False,
    val_size: int | None = None,
    test_size: int | None = None,
    columns: tuple[int, int] = DEFAULT_COLUMNS,
) -> Splits:
    """Reads an Anki file and splits it (seeded shuffle) into train, validation and test;
    ``val_size`` / ``test_size`` are exact counts overriding the fractions."""
    pairs = read_anki(path, num_samples=num_samples, reverse=reverse, strict=strict,
                      columns=columns)  # fmt: skip
    if len(pairs) < 3:
        raise Seq2SeqError(f"{path} holds {len(pairs)} usable pair(s); at least 3 are needed")
    return split_pairs(pairs, val_fraction, test_fraction, seed, val_size, test_size)
