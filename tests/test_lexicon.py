"""A lexicon first, the model for the rest: reading the file (every hostile line named),
the Translator, s2s-translate, s2s-evaluate and the service."""

import json

import pytest
from fastapi.testclient import TestClient

from seq2seq.api import Limits
from seq2seq.errors import Seq2SeqError
from seq2seq.lexicon import read_lexicon
from seq2seq.serving import create_app
from seq2seq.translation import Translator

INPUTS = ["Christmas 2026", "Nov 28, 2026", "  new   year 2027 "]


def _lexicon(tmp_path, text: str | bytes):
    path = tmp_path / "lexicon.tsv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_the_lexicon_is_read_with_every_line_ending_and_its_sources_normalised(tmp_path):
    path = _lexicon(tmp_path, "Christmas  2026\t2026-12-25\r\n\nnew year 2027\t2027-01-01\n"
                              "new year 2027\t2027-1-1\nnew year 2027\t2027-01-01")  # fmt: skip
    assert read_lexicon(path) == {
        "Christmas 2026": ("2026-12-25",),
        "new year 2027": ("2027-01-01", "2027-1-1"),  # candidates, best first, once each
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a\tb\nno tab here\n", r"lexicon.tsv:2: expected source<TAB>target .* got 'no tab here'"),
        ("a\tb\tc\n", r"lexicon.tsv:1: expected source<TAB>target"),
        (" \t2026\n", r"lexicon.tsv:1: expected source<TAB>target \(one tab, both non-empty\)"),
        (b"a\t\xff\n", r"is not UTF-8 \(byte 2\)"),
        ("\n\n", r"holds no entries"),
    ],
)
def test_a_bad_lexicon_is_one_line_naming_where(tmp_path, content, message):
    with pytest.raises(Seq2SeqError, match=message):
        read_lexicon(_lexicon(tmp_path, content))
    with pytest.raises(Seq2SeqError, match="lexicon file not found"):
        read_lexicon(tmp_path / "missing.tsv")


def test_known_inputs_get_the_lexicons_answers_and_the_rest_the_models(trained_run, tmp_path):
    translator = Translator.from_run_dir(trained_run)
    model_only = translator.candidates(INPUTS, decoding="beam", n_best=2)
    translator.lexicon = read_lexicon(_lexicon(
        tmp_path, "Christmas 2026\t2026-12-25\nnew year 2027\t2027-01-01\nnew year 2027\t2027-1-1"
    ))  # fmt: skip
    found = translator.candidates(INPUTS, decoding="beam", n_best=2)
    assert [(c.text, c.score) for c in found[0]] == [("2026-12-25", 0.0)]
    assert [c.text for c in found[1]] == [c.text for c in model_only[1]]
    assert [c.text for c in found[2]] == ["2027-01-01", "2027-1-1"]
    assert translator.translate(INPUTS[2:], prefixes=["2027-1-"]) == ["2027-1-1"]
    assert translator.translate(INPUTS[:1], prefixes=["1999"])[0].startswith("1999")  # model


def test_translate_and_evaluate_answer_from_the_lexicon_first(trained_run, tmp_path, cli):
    lexicon = _lexicon(tmp_path, "Christmas 2026\t2026-12-25\n")
    done = cli("translate", f"run_dir={trained_run}", f"lexicon={lexicon}",
               "inputs=['Christmas 2026','Nov 28, 2026']")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "2026-12-25"
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("Christmas 2026\t2026-12-25\nNov 28, 2026\t2026-11-28\n", encoding="utf-8")
    out = tmp_path / "eval"
    scored = cli("evaluate", f"run_dir={trained_run}", f"lexicon={lexicon}",
                 f"pairs_file={pairs}", f"output_dir={out}")  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["from_lexicon"], metrics["from_model"]) == (1, 1)
    missing = cli("translate", f"run_dir={trained_run}", f"lexicon={tmp_path / 'nope.tsv'}",
                  "inputs=['x']")  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1] == (
        f"error: lexicon file not found: {tmp_path / 'nope.tsv'}"
    )


def test_the_service_answers_from_the_lexicon_first(trained_run, tmp_path):
    translator = Translator.from_run_dir(trained_run)
    translator.lexicon = {"Christmas 2026": ("2026-12-25",)}
    with TestClient(create_app(translator, {}, Limits())) as client:
        got = client.post("/translate", json=[{"src": "Christmas  2026"}, {"src": INPUTS[1]}])
        first, second = got.json()
    assert (first["tgt"], first["score"]) == ("2026-12-25", 0.0)
    translator.lexicon = {}
    assert second["tgt"] == translator.translate(INPUTS[1:2])[0]
