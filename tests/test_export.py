import json
import subprocess
import sys

import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.export import export_run
from seq2seq.settings import DecodingSettings
from seq2seq.translation import Translator

INPUTS = ["Nov 28, 2026", "", "  le 1er   mai 1999 ", "04.07.1950", "日本 2026", "SAT 3RD MAY 1902"]
# Longer than the run's input limit: both cut them the same way.
INPUTS += ["1999-03-19 " * 1000, "Nov 28, 2026 " + "x" * 300]

LOAD_WITH_TENSORFLOW_ONLY = r"""
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
out = model.signatures["serving_default"](tf.constant(json.loads(sys.argv[2])))
print(json.dumps({
    "translations": [t.decode("utf-8") for t in out["translations"].numpy()],
    "scores": [float(s) for s in out["scores"].numpy()],
    "nbest": [[t.decode("utf-8") for t in row] for row in out["nbest_translations"].numpy()]
    if "nbest_translations" in out else None,
    "nbest_scores": out["nbest_scores"].numpy().tolist() if "nbest_scores" in out else None,
    "imported_seq2seq": any(m.startswith("seq2seq") for m in sys.modules),
}))
"""


@pytest.mark.e2e
def test_saved_model_translates_like_the_cli_without_importing_seq2seq(trained_run, tmp_path):
    export_dir = export_run(trained_run, tmp_path / "exported")
    out = run_script(LOAD_WITH_TENSORFLOW_ONLY, export_dir, tmp_path)
    assert out["imported_seq2seq"] is False
    expected = Translator.from_run_dir(trained_run).candidates(INPUTS)
    assert out["translations"] == [c[0].text for c in expected]
    assert out["scores"] == pytest.approx([c[0].score for c in expected], abs=1e-4)


def run_script(script: str, export_dir, cwd) -> dict:
    """Runs ``script`` in a new process with the export and :data:`INPUTS` as arguments;
    returns the JSON object its last line prints."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(export_dir), json.dumps(INPUTS)],
        capture_output=True, text=True, timeout=300, check=True, cwd=cwd,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run_saved_model(export_dir, cwd) -> dict:
    return run_script(LOAD_WITH_TENSORFLOW_ONLY, export_dir, cwd)


@pytest.mark.e2e
def test_a_beam_search_saved_model_gives_translates_n_best(trained_run, tmp_path):
    """Beam size, length penalty and n-best fixed at export; the best candidate is also the
    plain ``translations`` output, so greedy and beam exports are served alike."""
    params = {"beam_size": 3, "length_penalty": 1.0}
    decoding = DecodingSettings(
        name="beam", n_best=2, params=DecodingSettings(name="beam").rule.params(**params)
    )
    out = _run_saved_model(export_run(trained_run, tmp_path / "beam", decoding=decoding), tmp_path)
    assert out["imported_seq2seq"] is False
    expected = Translator.from_run_dir(trained_run).candidates(
        INPUTS, decoding="beam", n_best=2, **params
    )
    assert out["translations"] == [c[0].text for c in expected]
    assert out["scores"] == pytest.approx([c[0].score for c in expected], abs=1e-4)
    for row, cands, want in zip(out["nbest"], out["nbest_scores"], expected, strict=True):
        assert row[: len(want)] == [c.text for c in want]
        assert cands[: len(want)] == pytest.approx([c.score for c in want], abs=1e-4)


def test_export_refuses_sampling_and_xla(trained_run, tmp_path):
    with pytest.raises(Seq2SeqError, match="decoding=sample cannot be exported"):
        export_run(trained_run, tmp_path / "s", decoding=DecodingSettings(name="sample"))
    with pytest.raises(Seq2SeqError, match="jit_compile=true does not apply"):
        export_run(trained_run, tmp_path / "x", decoding=DecodingSettings(jit_compile=True))
    assert not (tmp_path / "s").exists() and not (tmp_path / "x").exists()


def test_export_refuses_a_non_empty_target_and_a_missing_run(trained_run, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(Seq2SeqError, match="not empty"):
        export_run(trained_run, tmp_path / "taken")
    with pytest.raises(Seq2SeqError, match="run directory not found"):
        export_run(tmp_path / "nope", tmp_path / "out")


def test_export_settings_take_the_decoding_group(tmp_path):
    from seq2seq.tasks.export import ExportSettings
    from tests.conftest import compose_config

    base = [f"run_dir={tmp_path}", f"export_dir={tmp_path / 'e'}"]
    overrides = ["decoding=beam", "decoding.beam_size=4", "decoding.n_best=2"]
    beam = ExportSettings.from_config(compose_config("export", [*base, *overrides]))
    assert beam.decoding.name == "beam" and beam.decoding.n_best == 2
    assert beam.decoding.params.beam_size == 4
    assert ExportSettings.from_config(compose_config("export", base)).decoding.name == "greedy"
    for overrides, message in [
        (["decoding=sample"], "decoding=sample cannot be exported"),
        (["max_length=20", "decoding.max_length=30"], "disagree: give one of them"),
        (["decoding.n_best=2"], "n_best must be at most 1"),
    ]:
        with pytest.raises(Seq2SeqError, match=message):
            ExportSettings.from_config(compose_config("export", [*base, *overrides]))


@pytest.mark.e2e
def test_a_saved_model_answers_from_its_lexicon_and_obeys_the_decoding_controls(
    trained_run, tmp_path
):
    lexicon = {"le 1er mai 1999": ("lexicon: 1999-05-01",), "04.07.1950": ("1950-07-04",)}
    decoding = DecodingSettings(name="beam", n_best=2, max_length_ratio=0.5,
                                no_repeat_ngram_size=3)  # fmt: skip
    export_dir = export_run(trained_run, tmp_path / "lex", decoding=decoding, lexicon=lexicon)
    out = _run_saved_model(export_dir, tmp_path)
    translator = Translator.from_run_dir(trained_run)
    translator.lexicon = lexicon
    expected = translator.candidates(INPUTS, **decoding.options())
    assert out["translations"] == [c[0].text for c in expected]
    assert out["translations"][2:4] == ["lexicon: 1999-05-01", "1950-07-04"]
    assert out["nbest"][2] == ["lexicon: 1999-05-01", ""]
    assert out["scores"] == pytest.approx([c[0].score for c in expected], abs=1e-4)
