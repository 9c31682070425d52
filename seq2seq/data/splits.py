"""Train/validation/test splits of ``(source, target)`` pairs."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seq2seq.data.stream import StreamedPairs

log = logging.getLogger(__name__)

Pair = tuple[str, str]


@dataclass(frozen=True)
class TrainProfile:
    """What the vocabularies need of the training split: its characters and longest sides."""

    source_chars: frozenset[str]
    target_chars: frozenset[str]
    longest_source: int
    longest_target: int

    @classmethod
    def of(cls, pairs: Iterable[Pair]) -> TrainProfile:
        """The profile of in-memory ``pairs``."""
        pairs = list(pairs)
        return cls(
            source_chars=frozenset(ch for s, _ in pairs for ch in s),
            target_chars=frozenset(ch for _, t in pairs for ch in t),
            longest_source=max(len(s) for s, _ in pairs),
            longest_target=max(len(t) for _, t in pairs),
        )


def profile(pairs: list[Pair] | StreamedPairs) -> TrainProfile:
    """The training split's profile: computed for a list, read off a streamed split."""
    return pairs.profile if hasattr(pairs, "profile") else TrainProfile.of(pairs)


@dataclass(frozen=True)
class Splits:
    """The three splits of a task: ``(source, target)`` pairs, the training split either a
    list or, for a streamed file, a :class:`~seq2seq.data.stream.StreamedPairs`."""

    train: list[Pair] | StreamedPairs
    val: list[Pair]
    test: list[Pair]

    def sizes(self) -> dict[str, int]:
        """Number of pairs per split."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split_sizes(
    n: int,
    val_fraction: float,
    test_fraction: float,
    val_size: int | None = None,
    test_size: int | None = None,
) -> tuple[int, int, int]:
    """Sizes of the train, validation and test parts of ``n`` items.

    Validation and test get ``round(n * fraction)`` items each, and at least one when their
    fraction is positive and ``n`` allows it; ``val_size`` / ``test_size``, when given, are
    exact counts that override the fractions (for big corpora). Train gets the rest.

    Raises:
        ValueError: fractions outside ``[0, 1)`` or summing to 1 or more, or sizes that leave
            no training item.
    """
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= f < 1:
            raise ValueError(f"{name} must be in [0, 1), got {f}")
    if val_fraction + test_fraction >= 1 and val_size is None and test_size is None:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction + test_fraction}"
        )
    n_val = max(round(n * val_fraction), 1 if val_fraction > 0 and n >= 3 else 0)
    n_test = max(round(n * test_fraction), 1 if test_fraction > 0 and n >= 3 else 0)
    n_val = n_val if val_size is None else val_size
    n_test = n_test if test_size is None else test_size
    if n - n_val - n_test < 1:
        raise ValueError(
            f"{n_val} validation and {n_test} test pairs leave no training pair of {n}"
        )
    return n - n_val - n_test, n_val, n_test


def split_pairs(
    pairs: list[Pair],
    val_fraction: float,
    test_fraction: float,
    seed: int | None,
    val_size: int | None = None,
    test_size: int | None = None,
) -> Splits:
    """Shuffles ``pairs`` with ``seed`` and cuts them into train, validation and test (see
    :func:`split_sizes`)."""
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    n_train, n_val, _ = split_sizes(len(shuffled), val_fraction, test_fraction, val_size, test_size)
    return Splits(
        train=shuffled[:n_train],
        val=shuffled[n_train : n_train + n_val],
        test=shuffled[n_train + n_val :],
    )


def fits(pair: Pair, max_length: int | None) -> bool:
    """Whether both sides of ``pair`` have at most ``max_length`` characters (None: any)."""
    return not max_length or max(len(pair[0]), len(pair[1])) <= max_length


def filter_long(splits: Splits, max_length: int) -> Splits:
    """Drops pairs whose source or target is longer than ``max_length`` (logs a count)."""

    def keep(pairs: list[Pair]) -> list[Pair]:
        return [pair for pair in pairs if fits(pair, max_length)]

    kept = Splits(train=keep(splits.train), val=keep(splits.val), test=keep(splits.test))
    dropped = sum(splits.sizes().values()) - sum(kept.sizes().values())
    if dropped:
        log.warning("data.max_length=%d: dropped %d longer pair(s)", max_length, dropped)
    return kept
