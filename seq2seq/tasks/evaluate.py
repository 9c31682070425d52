"""``s2s-evaluate``: translate a pairs file (or the run's test split) and score it."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from seq2seq.checks import switch
from seq2seq.data import read_anki
from seq2seq.data.splits import Pair
from seq2seq.destinations import check_output_file, prepare_output_dir
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import run_test_pairs, score, signatures
from seq2seq.files import write_user_file
from seq2seq.rundir import METRICS_FILE
from seq2seq.settings import DecodingSettings, inference_decoding
from seq2seq.tasks.common import (
    batch_size,
    config_values,
    open_translator,
    optional_path,
    required_path,
    run_dirs,
)
from seq2seq.text import normalize_input, read_text_lines

log = logging.getLogger(__name__)
USAGE = "s2s-evaluate run_dir=<run> [pairs_file=<pairs>] [output_dir=<dir>]"
TRANSLATIONS_FILE = "translations.tsv"
#: ``output_dir`` when none is given: inside the run directory.
DEFAULT_EVAL_DIR = "eval"
#: ... and for an ensemble, inside its first run directory.
ENSEMBLE_EVAL_DIR = "eval-ensemble"


@dataclass(frozen=True)
class EvaluateSettings:
    """The ``evaluate`` config, parsed once.

    Attributes:
        run_dirs: the trained run, or the runs of an ensemble.
        pairs_file: a ``source<TAB>target`` file (None: the run's own test split).
        strict: refuse a pairs file with a malformed line instead of skipping it.
        output_dir: where ``metrics.json`` and ``translations.tsv`` go.
        batch_size: inputs per call of the compiled decode loop.
        decoding: the search rule and its parameters (one candidate per input).
        lexicon: a ``source<TAB>target`` file answering the inputs it holds (None: none).
    """

    run_dirs: tuple[str, ...]
    pairs_file: str | None
    strict: bool
    output_dir: str
    batch_size: int
    decoding: DecodingSettings
    lexicon: str | None = None

    @classmethod
    def from_config(cls, cfg: DictConfig) -> EvaluateSettings:
        """Parses and checks a composed ``evaluate`` config."""
        values = config_values(cfg)
        runs = run_dirs(values, USAGE)
        decoding = inference_decoding(values.get("decoding"), values.get("seed"))
        default_dir = Path(runs[0]) / (DEFAULT_EVAL_DIR if len(runs) == 1 else ENSEMBLE_EVAL_DIR)
        return cls(
            run_dirs=runs,
            pairs_file=optional_path(values, "pairs_file"),
            strict=switch("strict", values.get("strict", False)),
            output_dir=optional_path(values, "output_dir") or str(default_dir),
            batch_size=batch_size(values),
            decoding=dataclasses.replace(decoding, n_best=1),
            lexicon=optional_path(values, "lexicon"),
        )


@dataclass(frozen=True)
class ScoreSettings:
    """``evaluate`` with ``hypotheses`` and ``references``: score a file, no model.

    Attributes:
        hypotheses: the hypothesis file (one sentence per line, UTF-8).
        references: the reference file, line-aligned with it.
        output_file: where the scores go (``<hypotheses>.scores.json`` by default).
    """

    hypotheses: str
    references: str
    output_file: str

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> ScoreSettings:
        """Parses the scoring settings; refuses settings only a model would use."""
        hypotheses = required_path(values, "hypotheses", SCORE_USAGE)
        references = required_path(values, "references", SCORE_USAGE)
        unused = [k for k in ("run_dir", "pairs_file") if optional_path(values, k)]
        if unused:
            raise Seq2SeqError(f"{unused[0]} has no use when scoring hypotheses: {SCORE_USAGE}")
        output_dir = optional_path(values, "output_dir")
        output_file = (
            str(Path(output_dir) / METRICS_FILE) if output_dir else f"{hypotheses}.scores.json"
        )
        return cls(hypotheses, references, output_file)


SCORE_USAGE = "s2s-evaluate hypotheses=hyp.txt references=ref.txt [output_dir=<dir>]"


def score_files(settings: ScoreSettings) -> dict[str, Any]:
    """Scores a hypothesis file against a reference file; prints and writes the scores. A
    new ``output_dir`` is created (as ``s2s-evaluate run_dir=...`` creates its own), once
    the inputs have been read."""
    hyps = read_text_lines(settings.hypotheses, "hypotheses")
    refs = read_text_lines(settings.references, "references")
    if len(hyps) != len(refs):
        raise Seq2SeqError(
            f"{settings.hypotheses} has {len(hyps):,} lines but {settings.references} has"
            f" {len(refs):,}: one hypothesis per reference"
        )
    prepare_output_dir(Path(settings.output_file).parent, "output_dir")
    check_output_file(settings.output_file, "output file",
                      inputs=[settings.hypotheses, settings.references])  # fmt: skip
    metrics: dict[str, Any] = score(hyps, refs)
    metrics.update(num_pairs=len(refs), hypotheses=settings.hypotheses,
                   references=settings.references, **signatures())  # fmt: skip
    text = json.dumps(metrics, indent=2, ensure_ascii=False) + "\n"
    write_user_file(settings.output_file, text)
    sys.stdout.write(text)
    log.info("wrote %s", settings.output_file)
    return metrics


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Hydra task: translate a pairs file (or the run's test split) and score it; or, with
    ``hypotheses`` and ``references``, score a hypothesis file (:func:`score_files`).

    Writes ``<output_dir>/metrics.json`` and ``<output_dir>/translations.tsv``
    (``source<TAB>reference<TAB>hypothesis`` with a header row) and prints the metrics.
    """
    values = config_values(cfg)
    if values.get("hypotheses") is not None or values.get("references") is not None:
        return score_files(ScoreSettings.from_values(values))
    settings = EvaluateSettings.from_config(cfg)
    translator = open_translator(settings.run_dirs, settings.lexicon)
    pairs, source_name = _pairs(settings)
    out = _output_dir(settings)
    log.info("evaluating %d pairs from %s (%s)", len(pairs), source_name, settings.decoding.name)
    hyps = translator.translate(
        [s for s, _ in pairs], batch_size=settings.batch_size, progress=True,
        **settings.decoding.options(),
    )  # fmt: skip
    metrics: dict[str, Any] = score(hyps, [t for _, t in pairs])
    metrics.update(num_pairs=len(pairs), decoding=settings.decoding.name, pairs=source_name)
    if translator.lexicon:  # how many answers came from each
        known = sum(normalize_input(s) in translator.lexicon for s, _ in pairs)
        metrics.update(from_lexicon=known, from_model=len(pairs) - known)
    if len(settings.run_dirs) > 1:
        metrics["ensemble"] = list(settings.run_dirs)
    metrics.update(signatures())

    table = io.StringIO()
    writer = csv.writer(table, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["source", "reference", "hypothesis"])
    writer.writerows((s, t, h) for (s, t), h in zip(pairs, hyps, strict=True))
    write_user_file(out / TRANSLATIONS_FILE, table.getvalue())
    write_user_file(out / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    sys.stdout.write(json.dumps(metrics, indent=2) + "\n")
    log.info("wrote %s and %s", out / METRICS_FILE, out / TRANSLATIONS_FILE)
    return metrics


def _pairs(settings: EvaluateSettings) -> tuple[list[Pair], str]:
    """The pairs to score and how to name where they came from."""
    if settings.pairs_file:
        pairs = read_anki(settings.pairs_file, strict=settings.strict)
        source_name = settings.pairs_file
    else:
        pairs = run_test_pairs(settings.run_dirs[0])
        source_name = "test split"
    if not pairs:
        raise Seq2SeqError(f"no pairs to evaluate in {source_name}")
    return pairs, source_name


def _output_dir(settings: EvaluateSettings) -> Path:
    """The output directory, created and checked before the long work: never the run
    directory itself, and no output file that is an input."""
    out = prepare_output_dir(settings.output_dir, "output_dir")
    if any(out.samefile(run_dir) for run_dir in settings.run_dirs if Path(run_dir).exists()):
        raise Seq2SeqError(
            f"output_dir {out} is a run directory: its metrics.json would be replaced"
        )
    inputs = [p for p in (settings.pairs_file, settings.lexicon) if p]
    for name in (TRANSLATIONS_FILE, METRICS_FILE):
        check_output_file(out / name, "output_dir", inputs=inputs)
    return out
