"""Reader for sentence-pair files in the Anki / Tatoeba format (manythings.org/anki).

Each line is ``source<TAB>target`` or ``source<TAB>target<TAB>attribution``; the third
column, when present, is ignored. Files are read as UTF-8. Bad lines (no tab, an empty side,
undecodable bytes) are skipped with one warning that counts them and names the first few
``file:line`` positions; with ``strict=True`` the first bad line is an error instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from seq2seq.data.splits import Pair, Splits, split_pairs
from seq2seq.errors import Seq2SeqError

log = logging.getLogger(__name__)

MAX_REPORTED = 5


def _parse_line(raw: bytes) -> tuple[Pair | None, str]:
    """Parses one raw line; returns the pair, or None and the reason it is bad."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not valid UTF-8"
    line = line.rstrip("\r\n").lstrip("\ufeff")
    if not line.strip():
        return None, "blank line"
    fields = line.split("\t")
    if len(fields) < 2:
        return None, "no tab between source and target"
    source, target = fields[0].strip(), fields[1].strip()
    if not source or not target:
        return None, "empty source or target"
    return (source, target), ""


def read_anki(
    path: str | Path,
    num_samples: int | None = None,
    reverse: bool = False,
    strict: bool = False,
) -> list[Pair]:
    """Reads up to ``num_samples`` pairs from an Anki/Tatoeba file.

    Args:
        path: the file.
        num_samples: keep the first N good pairs (None or 0 keeps all), like the Keras example.
        reverse: swap the columns (translate the second language into the first).
        strict: raise on the first bad line instead of skipping it.

    Raises:
        Seq2SeqError: the file is missing or unreadable, holds no usable pair, or (strict)
            holds a bad line.
    """
    path = Path(path)
    if not path.is_file():
        raise Seq2SeqError(f"data file not found: {path}")
    pairs: list[Pair] = []
    bad: list[str] = []
    try:
        with path.open("rb") as f:
            for lineno, raw in enumerate(f, 1):
                if num_samples and len(pairs) >= num_samples:
                    break
                pair, why = _parse_line(raw)
                if pair is None:
                    where = f"{path}:{lineno}: {why}"
                    if strict:
                        raise Seq2SeqError(f"bad line {where} (data.strict=true)")
                    bad.append(where)
                    continue
                pairs.append((pair[1], pair[0]) if reverse else pair)
    except OSError as exc:
        raise Seq2SeqError(f"cannot read data file {path}: {exc.strerror or exc}") from None
    if bad:
        shown = "; ".join(bad[:MAX_REPORTED]) + ("; ..." if len(bad) > MAX_REPORTED else "")
        log.warning("skipped %d bad line(s) in %s: %s", len(bad), path, shown)
    if not pairs:
        raise Seq2SeqError(f"no usable source<TAB>target pairs in {path}")
    return pairs


def load_anki(
    path: str | Path,
    num_samples: int | None = None,
    reverse: bool = False,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int | None = 0,
    strict: bool = False,
) -> Splits:
    """Reads an Anki file and splits it (seeded shuffle) into train, validation and test."""
    pairs = read_anki(path, num_samples=num_samples, reverse=reverse, strict=strict)
    if len(pairs) < 3:
        raise Seq2SeqError(f"{path} holds {len(pairs)} usable pair(s); at least 3 are needed")
    return split_pairs(pairs, val_fraction, test_fraction, seed)
