"""Slow end-to-end quality checks: ``pytest -m slow`` (about 10 minutes on 2 CPU cores)."""

import json
from pathlib import Path

import pytest

from seq2seq.tasks.train import train
from seq2seq.translation import Translator
from tests.conftest import compose_config

HANDWRITTEN = Path(__file__).parent / "data" / "handwritten_dates.tsv"


def read_handwritten() -> list[tuple[str, str]]:
    """Dates written by hand (not by the generator) with their ISO form."""
    lines = HANDWRITTEN.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line]


@pytest.mark.slow
def test_default_dates_run_meets_the_quality_bar(tmp_path):
    train(compose_config("train", [f"paths.output_dir={tmp_path}", "trainer.progress_bar=false"]))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test/exact_match"] >= 0.95
    pairs = read_handwritten()
    hyps = Translator.from_run_dir(tmp_path).translate([s for s, _ in pairs])
    wrong = [(s, h, r) for (s, r), h in zip(pairs, hyps, strict=True) if h != r]
    assert len(wrong) <= len(pairs) // 10, wrong
