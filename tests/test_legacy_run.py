"""A run directory written before the model registry still loads and translates identically.

``tests/data/legacy_run`` was trained (``tests/conftest.py``'s TINY config, 3 epochs) and
translated by the code of commit b0144a5, before the model contract: its ``model.keras`` has
no family tag and its ``config.yaml`` no ``model.name``. ``expected.tsv`` holds that code's
greedy and beam (size 5, length penalty 0.6: ``configs/decoding/beam.yaml`` then) outputs;
``expected_nbest.tsv`` its 3-best beam candidates (size 4, no length penalty) with scores.
"""

import shutil

import pytest

from seq2seq.evaluation import run_test_pairs
from seq2seq.tasks.translate import format_candidates, translate
from seq2seq.translation import Translator
from tests.conftest import ROOT, compose_config

LEGACY = ROOT / "tests" / "data" / "legacy_run"


def _expected() -> list[list[str]]:
    lines = (LEGACY / "expected.tsv").read_text(encoding="utf-8").split("\n")[1:-1]
    return [line.split("\t") for line in lines]


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.from_run_dir(LEGACY)


def test_greedy_and_beam_outputs_are_byte_identical(translator):
    rows = _expected()
    sources = [r[0] for r in rows]
    assert len(rows) == 80 and len(set(r[1] for r in rows)) > 5  # not a trivial model
    assert translator.translate(sources) == [r[1] for r in rows]
    beam = translator.translate(sources, decoding="beam", beam_size=5, length_penalty=0.6)
    assert beam == [r[2] for r in rows]
    assert beam != [r[1] for r in rows]  # the fixture tells beam from greedy


def test_n_best_candidates_and_scores_are_identical(translator):
    sources = [r[0] for r in _expected()][:10]
    cands = translator.candidates(
        sources, decoding="beam", n_best=3, beam_size=4, length_penalty=0.0
    )
    expected = (LEGACY / "expected_nbest.tsv").read_text(encoding="utf-8")
    assert format_candidates(cands) == expected


def test_the_translate_task_with_configs_beam_defaults_is_identical(tmp_path):
    rows = _expected()
    inputs = tmp_path / "in.txt"
    inputs.write_text("".join(r[0] + "\n" for r in rows), encoding="utf-8")
    for column, decoding in ((1, "greedy"), (2, "beam")):
        out = tmp_path / f"{decoding}.txt"
        cfg = compose_config(
            "translate",
            [
                f"run_dir={LEGACY}",
                f"input_file={inputs}",
                f"output_file={out}",
                f"decoding={decoding}",
            ],
        )
        translate(cfg)
        assert out.read_text(encoding="utf-8") == "".join(r[column] + "\n" for r in rows)


def test_an_old_config_yaml_without_model_name_still_gives_the_test_split(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(LEGACY, run)
    assert "name: lstm" not in (run / "config.yaml").read_text(encoding="utf-8")
    assert len(run_test_pairs(run)) == 20
