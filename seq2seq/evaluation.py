"""Translation metrics, and a run's test split (the ``s2s-evaluate`` command is
:mod:`seq2seq.tasks.evaluate`).

Scores: chrF and BLEU from ``sacrebleu`` (corpus level, default settings, 0-100), exact match
(fraction 0-1 of hypotheses identical to their reference), character error rate (total
Levenshtein distance over total reference characters) and position-wise character accuracy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import sacrebleu

from seq2seq.data import load_task
from seq2seq.data.splits import Pair
from seq2seq.data.stream import changed_error
from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import (
    DATA_FINGERPRINT,
    RunDir,
)
from seq2seq.vocab.store import read_run_vocab

log = logging.getLogger(__name__)


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")


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


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions) between two strings."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Total edit distance over total reference characters (0 is perfect; can exceed 1)."""
    _check(hypotheses, references)
    chars = sum(len(r) for r in references)
    errors = sum(edit_distance(h, r) for h, r in zip(hypotheses, references, strict=True))
    return errors / chars if chars else float(errors > 0)


# The keys of :func:`score`.
SCORE_KEYS = ("chrf", "bleu", "exact_match", "cer", "char_accuracy")


def score(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """All metrics at once: ``chrf``, ``bleu``, ``exact_match``, ``cer``, ``char_accuracy``."""
    _check(hypotheses, references)
    return {
        "chrf": float(sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score),
        "bleu": float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score),
        "exact_match": exact_match(hypotheses, references),
        "cer": character_error_rate(hypotheses, references),
        "char_accuracy": char_accuracy(hypotheses, references),
    }


def signatures() -> dict[str, str]:
    """The sacreBLEU signatures of :func:`score`'s chrF and BLEU (their settings and
    sacreBLEU's version), so that a reported number can be reproduced elsewhere
    (``sacrebleu -m chrf bleu``)."""
    found = {}
    for name, metric in (("chrf", sacrebleu.metrics.CHRF()), ("bleu", sacrebleu.metrics.BLEU())):
        metric.corpus_score(["a"], [["a"]])  # a signature counts the references it saw
        found[f"sacrebleu/{name}"] = str(metric.get_signature())
    return found


def run_test_pairs(run_dir: str | Path) -> list[Pair]:
    """The test split of a training run, regenerated from its resolved ``config.yaml``."""
    run = RunDir(Path(run_dir))
    data = run.read_config().get("data")
    if not isinstance(data, dict) or "name" not in data:
        raise Seq2SeqError(f"{run.config_file} has no data section")
    data = dict(data)
    if data["name"] == "anki" and data.get("seed") is None:
        raise Seq2SeqError(
            f"{run.config_file}: data.seed is null, so the run's test split was drawn at random"
            " and cannot be drawn again; evaluate a file instead (pairs_file=...)"
        )
    if data.get("path") is not None:  # an untrusted run directory may name any file
        log.info("drawing the test split again from %s (data.path in %s)",
                 Path(str(data["path"])).resolve(), run.config_file)  # fmt: skip
    try:
        splits = load_task(data.pop("name"), **data)
    except (ValueError, TypeError, KeyError, Seq2SeqError) as exc:
        raise Seq2SeqError(f"{run.config_file}: data: {exc}") from None
    fingerprint = getattr(splits.train, "fingerprint", None)
    saved = read_run_vocab(run)[2].get(DATA_FINGERPRINT) if run.vocab_file.is_file() else None
    if fingerprint is not None and saved is not None and saved != fingerprint.as_dict():
        raise changed_error(splits.train.source.path, "its content differs from the scan")
    return splits.test
