"""Translation metrics computed on strings."""

from __future__ import annotations

from collections.abc import Sequence


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Fraction (0-1) of hypotheses identical to their reference."""
    _check(hypotheses, references)
    if not references:
        return 0.0
    return sum(h == r for h, r in zip(hypotheses, references, strict=True)) / len(references)


def char_accuracy(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Position-wise character accuracy over the corpus (0-1).

    Each pair contributes ``max(len(hyp), len(ref))`` positions, of which those where both
    strings hold the same character count as correct; so missing and extra characters are
    errors too.
    """
    _check(hypotheses, references)
    correct = total = 0
    for h, r in zip(hypotheses, references, strict=True):
        correct += sum(a == b for a, b in zip(h, r, strict=False))
        total += max(len(h), len(r))
    return correct / total if total else 1.0


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
