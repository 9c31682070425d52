"""Translation metrics, and ``evaluate(cfg)``: decode a pairs file and score it.

Scores: chrF and BLEU from ``sacrebleu`` (corpus level, default settings, 0-100), exact match
(fraction 0-1 of hypotheses identical to their reference), character error rate (total
Levenshtein distance over total reference characters) and position-wise character accuracy.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sacrebleu
from omegaconf import DictConfig

from seq2seq.data import load_task, read_anki
from seq2seq.data.splits import Pair
from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import (
    METRICS_FILE,
    RunDir,
    check_output_file,
    prepare_output_dir,
    write_user_file,
)

TRANSLATIONS_FILE = "translations.tsv"

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
    try:
        return load_task(data.pop("name"), **data).test
    except (ValueError, TypeError, KeyError, Seq2SeqError) as exc:
        raise Seq2SeqError(f"{run.config_file}: data: {exc}") from None


#: ``output_dir`` when none is given: inside the run directory.
DEFAULT_EVAL_DIR = "eval"


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Hydra task: translate a pairs file (or the run's test split) and score it.

    Writes ``<output_dir>/metrics.json`` and ``<output_dir>/translations.tsv``
    (``source<TAB>reference<TAB>hypothesis`` with a header row) and prints the metrics.
    """
    from seq2seq.settings import inference_decoding
    from seq2seq.translation import Translator

    if not cfg.get("run_dir"):
        raise Seq2SeqError("run_dir is required: s2s-evaluate run_dir=<run> [output_dir=<dir>]")
    output_dir = cfg.get("output_dir") or Path(cfg.run_dir) / DEFAULT_EVAL_DIR
    decoding = inference_decoding(cfg.get("decoding"), cfg.get("seed"))
    decoding = dataclasses.replace(decoding, n_best=1)
    translator = Translator.from_run_dir(cfg.run_dir)
    if cfg.get("pairs_file"):
        pairs = read_anki(cfg.pairs_file, strict=bool(cfg.get("strict", False)))
        source_name = str(cfg.pairs_file)
    else:
        pairs = run_test_pairs(cfg.run_dir)
        source_name = "test split"
    if not pairs:
        raise Seq2SeqError(f"no pairs to evaluate in {source_name}")
    out = prepare_output_dir(output_dir, "output_dir")
    if out.samefile(cfg.run_dir):
        raise Seq2SeqError(
            f"output_dir {out} is the run directory: its metrics.json would be replaced"
        )
    for name in (TRANSLATIONS_FILE, METRICS_FILE):
        check_output_file(out / name, "output_dir")
    log.info("evaluating %d pairs from %s (%s)", len(pairs), source_name, decoding.name)
    hyps = translator.translate(
        [s for s, _ in pairs], batch_size=int(cfg.get("batch_size", 256)), **decoding.options()
    )
    metrics: dict[str, Any] = score(hyps, [t for _, t in pairs])
    metrics.update(num_pairs=len(pairs), decoding=decoding.name, pairs=source_name)

    table = io.StringIO()
    writer = csv.writer(table, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["source", "reference", "hypothesis"])
    writer.writerows((s, t, h) for (s, t), h in zip(pairs, hyps, strict=True))
    write_user_file(out / TRANSLATIONS_FILE, table.getvalue())
    write_user_file(out / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    sys.stdout.write(json.dumps(metrics, indent=2) + "\n")
    log.info("wrote %s and %s", out / METRICS_FILE, out / TRANSLATIONS_FILE)
    return metrics
