"""Streamed Anki files: training pairs read from disk on every pass, never held in memory.

One scan of the file (:func:`scan_anki`) does everything that needs the whole corpus:

* it picks the held-out pairs: each good pair's index gets a seeded 64-bit key, and the
  ``val_size`` pairs with the smallest keys are the validation split, the next ``test_size``
  the test split. A bounded heap keeps only those, so memory grows with the held-out counts,
  not the corpus; the choice depends on the seed and the file only, so it is the same on
  every run (and in ``evaluate``);
* it counts, per character, the pairs that hold it, and the lengths of all pairs; the held-out
  pairs are subtracted at the end, which leaves the training split's characters
  (its vocabulary) and its longest source and target, in the same pass.

Training then iterates :class:`StreamedPairs`, which reads the file again, skipping the
held-out indices.
"""

from __future__ import annotations

import heapq
import logging
import os
import random
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seq2seq.data.anki import DEFAULT_COLUMNS, iter_anki
from seq2seq.data.lines import report_bad_lines
from seq2seq.data.splits import Pair, Splits, TrainProfile, fits
from seq2seq.errors import Seq2SeqError

log = logging.getLogger(__name__)

MASK64 = (1 << 64) - 1
GOLDEN64 = 0x9E3779B97F4A7C15
PROGRESS_EVERY = 1_000_000


def pair_key(seed: int, index: int) -> int:
    """A seeded pseudo-random 64-bit key for the pair at ``index`` (splitmix64)."""
    z = (index + (seed + 1) * GOLDEN64) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


@dataclass(frozen=True)
class StreamSource:
    """Which pairs of which file: the reader's options, shared by the scan and every pass."""

    path: Path
    num_samples: int | None = None
    reverse: bool = False
    strict: bool = False
    max_length: int | None = None
    columns: tuple[int, int] = DEFAULT_COLUMNS
    #: The target file of a parallel corpus (None: ``path`` holds both sides).
    target: Path | None = None

    def indexed(self, bad: list[str] | None = None) -> Iterator[tuple[int, Pair]]:
        """``(index, pair)`` of every good pair within ``max_length``, in file order."""
        if self.target is not None:
            from seq2seq.data.parallel import iter_parallel

            pairs = iter_parallel(self.path, self.target, self.num_samples, self.strict, bad)
        else:
            pairs = iter_anki(
                self.path, self.num_samples, self.reverse, self.strict, bad, self.columns
            )
        index = 0
        for source, target in pairs:
            if not fits((source, target), self.max_length):
                continue
            yield index, (source, target)
            index += 1


@dataclass(frozen=True)
class Fingerprint:
    """What the scan saw of a streamed file: its size and modification time, and the count
    and CRC-32 of its usable pairs (in file order). Every later pass, a resume and
    ``evaluate`` compare against it, so held-out indices never point at other pairs."""

    size: int
    mtime_ns: int
    pairs: int
    crc: int

    def as_dict(self) -> dict[str, int]:
        """The fingerprint as ``vocab.json`` keeps it (size, pairs and CRC: the content)."""
        return {"size": self.size, "pairs": self.pairs, "crc32": self.crc}


def pair_crc(pair: Pair, crc: int) -> int:
    """``crc`` updated with one pair."""
    return zlib.crc32(f"{pair[0]}\t{pair[1]}\n".encode("utf-8", "surrogatepass"), crc)


def file_changed(source: StreamSource, fingerprint: Fingerprint) -> str | None:
    """How the streamed file(s) differ from the size and time the scan saw (None: they do
    not)."""
    size, mtime_ns = _stat(source)
    if size < 0:
        return "it cannot be read now"
    if size != fingerprint.size:
        return f"its size went from {fingerprint.size:,} to {size:,} bytes"
    if mtime_ns != fingerprint.mtime_ns:
        return "it was modified"
    return None


def changed_error(path: Path, how: str) -> Seq2SeqError:
    """The one-line error for a streamed file that changed after its scan."""
    return Seq2SeqError(
        f"the streamed pairs file {path} changed after training scanned it ({how}): its"
        " held-out pairs would no longer be the ones chosen; restore the file (then resume"
        " with trainer.resume=true) or start a new run"
    )


@dataclass(frozen=True)
class StreamedPairs:
    """The training split of a streamed file: iterable (one file pass per iteration), sized,
    and profiled (characters and longest lengths) without being held in memory. Each pass
    checks that the file is still the one scanned (:class:`Fingerprint`)."""

    source: StreamSource
    held_out: frozenset[int]
    size: int
    profile: TrainProfile
    fingerprint: Fingerprint | None = None

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[Pair]:
        expected = self.fingerprint
        how = expected and file_changed(self.source, expected)
        if how:
            raise changed_error(self.source.path, how)
        crc, count = 0, 0
        for index, pair in self.source.indexed():
            crc, count = pair_crc(pair, crc), count + 1
            if index not in self.held_out:
                yield pair
        if expected and (count, crc) != (expected.pairs, expected.crc):
            raise changed_error(
                self.source.path,
                f"{count:,} usable pairs where the scan saw {expected.pairs:,}"
                if count != expected.pairs
                else "its pairs differ",
            )


class _Tally:
    """Characters (counted once per pair) and lengths of a set of pairs."""

    def __init__(self) -> None:
        self.source_chars: Counter[str] = Counter()
        self.target_chars: Counter[str] = Counter()
        self.source_lengths: Counter[int] = Counter()
        self.target_lengths: Counter[int] = Counter()

    def add(self, pair: Pair, sign: int = 1) -> None:
        source, target = pair
        for counter, keys in (
            (self.source_chars, set(source)),
            (self.target_chars, set(target)),
            (self.source_lengths, (len(source),)),
            (self.target_lengths, (len(target),)),
        ):
            if sign > 0:
                counter.update(keys)
            else:
                counter.subtract(keys)

    def profile(self) -> TrainProfile:
        def present(counter: Counter) -> list:
            return [k for k, n in counter.items() if n > 0]

        return TrainProfile(
            source_chars=frozenset(present(self.source_chars)),
            target_chars=frozenset(present(self.target_chars)),
            longest_source=max(present(self.source_lengths)),
            longest_target=max(present(self.target_lengths)),
        )


def scan_anki(source: StreamSource, val_size: int, test_size: int, seed: int | None) -> Splits:
    """Splits a streamed file in one pass (see the module doc): validation and test in memory,
    training as :class:`StreamedPairs`.

    Raises:
        Seq2SeqError: unreadable file, bad line (strict), or too few pairs for the counts.
    """
    seed = random.getrandbits(32) if seed is None else int(seed)
    keep = val_size + test_size
    heap: list[tuple[int, int, Pair]] = []  # the `keep` smallest keys, as a max-heap
    tally, bad, count, crc = _Tally(), [], 0, 0
    before = _stat(source)
    for index, pair in source.indexed(bad):
        tally.add(pair)
        crc = pair_crc(pair, crc)
        item = (-pair_key(seed, index), index, pair)
        if len(heap) < keep:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
        count = index + 1
        if count % PROGRESS_EVERY == 0:
            log.info("scanned %s pairs of %s", f"{count:,}", source.path)
    report_bad_lines(source.path, bad)
    if count <= keep:
        raise Seq2SeqError(
            f"{source.path} holds {count} usable pair(s): {val_size} validation and"
            f" {test_size} test pairs leave none for training"
        )
    held = sorted(heap, reverse=True)  # smallest key first
    for _, _, pair in held:
        tally.add(pair, sign=-1)
    after = _stat(source)
    if after != before:
        raise changed_error(source.path, "while it was being scanned")
    fingerprint = Fingerprint(after[0], after[1], count, crc)
    held_out = frozenset(i for _, i, _ in held)
    train = StreamedPairs(source, held_out, count - keep, tally.profile(), fingerprint)
    pairs = [pair for _, _, pair in held]
    return Splits(train=train, val=pairs[:val_size], test=pairs[val_size:])


def _stat(source: StreamSource) -> tuple[int, int]:
    """The total size and the latest modification time of the streamed file(s)."""
    paths = [source.path] if source.target is None else [source.path, source.target]
    try:
        found = [os.stat(path) for path in paths]
    except OSError:
        return (-1, -1)
    return (sum(f.st_size for f in found), max(f.st_mtime_ns for f in found))


def stream_anki(
    path: str | Path,
    val_size: int | None,
    test_size: int | None,
    num_samples: int | None = None,
    reverse: bool = False,
    seed: int | None = 0,
    strict: bool = False,
    max_length: int | None = None,
    columns: tuple[int, int] = DEFAULT_COLUMNS,
) -> Splits:
    """Streams an Anki file (``data.streaming=true``): see :func:`scan_anki`.

    Raises:
        Seq2SeqError: ``val_size`` or ``test_size`` missing (streaming needs counts: held-out
            pairs are kept in memory), or the errors of :func:`scan_anki`.
    """
    if val_size is None or test_size is None:
        raise Seq2SeqError(
            "data.streaming=true needs data.val_size and data.test_size (pair counts:"
            " the held-out pairs are kept in memory, the fractions are not used)"
        )
    source = StreamSource(Path(path), num_samples, reverse, strict, max_length, columns)
    return scan_anki(source, int(val_size), int(test_size), seed)
