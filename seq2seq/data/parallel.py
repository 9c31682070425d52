"""``data=parallel``: a source file and a target file, one sentence per line, as every NMT
toolkit reads them; optional validation and test files of the same kind.

Lines are read with the Anki reader's rules (:func:`seq2seq.data.anki.decode_line`: UTF-8,
or UTF-16/32 with a byte-order mark; a line ends at ``\\n`` or ``\\r\\n``; blank lines, lines
with a carriage return or NUL bytes inside, or bytes that are not UTF-8 are bad). A pair with
a bad line on either side is skipped (one warning counting them) or, with ``data.strict``,
refused. The two files of a pair must have the same number of lines.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seq2seq.data.lines import decode_line, raw_lines, report_bad_lines
from seq2seq.data.sources import DATA_SOURCES, DataSource, FileSourceOptions
from seq2seq.data.splits import Pair, Splits, split_pairs
from seq2seq.errors import Seq2SeqError


def iter_parallel(
    source: str | Path,
    target: str | Path,
    num_samples: int | None = None,
    strict: bool = False,
    bad: list[str] | None = None,
) -> Iterator[Pair]:
    """The good pairs of two line-aligned files, read as they are needed; the
    ``file:line: reason`` of each skipped bad line goes to ``bad``.

    Raises:
        Seq2SeqError: a missing or unreadable file, unequal line counts (naming both), or
            (strict) a bad line.
    """
    paths = (Path(source), Path(target))
    for path in paths:
        if not path.is_file():
            raise Seq2SeqError(f"data file not found: {path}")
    count = 0
    try:
        lines = itertools.zip_longest(raw_lines(paths[0]), raw_lines(paths[1]))
        for lineno, (left, right) in enumerate(lines, 1):
            if left is None or right is None:
                raise _unequal(paths, lineno, left is None)
            if num_samples and count >= num_samples:
                continue  # keep reading: the line counts must still agree
            pair = _pair(paths, lineno, left, right, strict, bad)
            if pair is not None:
                count += 1
                yield pair
    except OSError as exc:
        raise Seq2SeqError(f"cannot read data file: {exc.strerror or exc}") from None


def _pair(paths, lineno: int, left: bytes, right: bytes, strict: bool, bad) -> Pair | None:
    texts = []
    for path, raw in zip(paths, (left, right), strict=True):
        text, why = decode_line(raw)
        if text is None:
            where = f"{path}:{lineno}: {why}"
            if strict:
                raise Seq2SeqError(f"bad line {where} (data.strict=true)")
            if bad is not None:
                bad.append(where)
            return None
        texts.append(text.strip())
    return texts[0], texts[1]


def _unequal(paths: tuple[Path, Path], lineno: int, source_ended: bool) -> Seq2SeqError:
    longer = paths[1] if source_ended else paths[0]
    total = sum(1 for _ in raw_lines(longer))
    counts = (lineno - 1, total) if source_ended else (total, lineno - 1)
    return Seq2SeqError(
        f"{paths[0]} has {counts[0]:,} lines but {paths[1]} has {counts[1]:,}: the two files of"
        " a parallel corpus must have one line per sentence pair"
    )


def read_parallel(
    source: str | Path, target: str | Path, num_samples: int | None = None, strict: bool = False
) -> list[Pair]:
    """Every good pair of two line-aligned files (see :func:`iter_parallel`).

    Raises:
        Seq2SeqError: as :func:`iter_parallel`, or no usable pair.
    """
    bad: list[str] = []
    pairs = list(iter_parallel(source, target, num_samples, strict, bad))
    report_bad_lines(f"{source} / {target}", bad)
    if not pairs:
        raise Seq2SeqError(f"no usable sentence pairs in {source} and {target}")
    return pairs


@dataclass(frozen=True)
class ParallelOptions(FileSourceOptions):
    """``data=parallel`` settings; the sample count, held-out sizes, seed, ``strict`` and
    ``max_length`` are :class:`~seq2seq.data.sources.FileSourceOptions`'.

    Attributes:
        source: the training source file (one sentence per line); required.
        target: the training target file, line-aligned with ``source``; required.
        valid_source: the validation source file (None: held out from training).
        valid_target: the validation target file (with ``valid_source``).
        test_source: the test source file (None: held out from training).
        test_target: the test target file (with ``test_source``).
    """

    source: str | None = None
    target: str | None = None
    valid_source: str | None = None
    valid_target: str | None = None
    test_source: str | None = None
    test_target: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.source or not self.target:
            raise Seq2SeqError(
                "data=parallel needs data.source and data.target"
                " (e.g. data.source=train.en data.target=train.fr)"
            )
        for side in ("valid", "test"):
            given = [getattr(self, f"{side}_{end}") for end in ("source", "target")]
            if any(given) and not all(given):
                raise Seq2SeqError(
                    f"data.{side}_source and data.{side}_target go together: give both or neither"
                )


@DATA_SOURCES.register("parallel")
class ParallelSource(DataSource):
    """Sentence pairs from a source file and a target file (one sentence per line)."""

    options = ParallelOptions

    @classmethod
    def stream(cls, opts: ParallelOptions) -> Splits:
        return cls.load(opts)

    @classmethod
    def load(cls, opts: ParallelOptions) -> Splits:
        files = {
            side: read_parallel(src, tgt, strict=opts.strict)
            for side, src, tgt in (
                ("valid", opts.valid_source, opts.valid_target),
                ("test", opts.test_source, opts.test_target),
            )
            if src
        }
        val_size = 0 if "valid" in files else opts.val_size
        test_size = 0 if "test" in files else opts.test_size
        if opts.streaming:
            return cls._stream(opts, files, val_size, test_size)
        pairs = read_parallel(opts.source, opts.target, opts.num_samples, opts.strict)
        try:
            drawn = split_pairs(pairs, opts.val_fraction, opts.test_fraction, opts.seed,
                                val_size, test_size)  # fmt: skip
        except ValueError as exc:
            raise Seq2SeqError(f"data=parallel: {exc}") from None
        return Splits(
            train=drawn.train,
            val=files.get("valid", drawn.val),
            test=files.get("test", drawn.test),
        )

    @classmethod
    def _stream(cls, opts: ParallelOptions, files: dict, val_size, test_size) -> Splits:
        """The training pairs left on disk (``data.streaming=true``); held-out pairs without
        files of their own are drawn by the one scan (they need exact counts)."""
        from seq2seq.data.stream import StreamSource, scan_anki

        if val_size is None or test_size is None:
            raise Seq2SeqError(
                "data.streaming=true needs data.val_size and data.test_size for the held-out"
                " pairs that have no files of their own (data.valid_*/data.test_*)"
            )
        source = StreamSource(Path(opts.source), opts.num_samples, strict=opts.strict,
                              max_length=opts.max_length, target=Path(opts.target))  # fmt: skip
        drawn = scan_anki(source, int(val_size), int(test_size), opts.seed)
        return Splits(
            train=drawn.train,
            val=files.get("valid", drawn.val),
            test=files.get("test", drawn.test),
        )
