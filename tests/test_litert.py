"""``s2s-export format=litert``: a ``.tflite`` file with the whole decode inside, its
``litert.json`` and reference client, run where TensorFlow is not (the model contract's
harness checks every kind of model: ``tests/test_families.py``)."""

import json
import subprocess
import sys

import pytest

from seq2seq.litert import litert_bytes, weight_bytes
from seq2seq.settings import DecodingSettings
from seq2seq.translation import Translator
from tests import contract
from tests.test_export import INPUTS, run_script

#: Translates with the export directory's own client, then says what it imported.
RUN_WITHOUT_TENSORFLOW = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from translate import LiteRTTranslator
found = LiteRTTranslator(sys.argv[1]).candidates(json.loads(sys.argv[2]))
print(json.dumps({
    "candidates": [[[c.text, c.score] for c in cands] for cands in found],
    "tensorflow": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")),
    "seq2seq": sorted(m for m in sys.modules if m.split(".")[0] == "seq2seq"),
}))
"""


def _run_client(export_dir, cwd) -> dict:
    return run_script(RUN_WITHOUT_TENSORFLOW, export_dir, cwd)


def _same(found: list, expected: list) -> None:
    for got, want in zip(found, expected, strict=True):
        assert [text for text, _ in got] == [c.text for c in want]
        assert [s for _, s in got] == pytest.approx([c.score for c in want], abs=1e-4)


@pytest.mark.e2e
def test_the_litert_file_translates_like_the_translator_in_a_process_without_tensorflow(
    trained_run, tmp_path, cli
):
    beam = ["decoding=beam", "decoding.beam_size=3", "decoding.n_best=2"]
    for name, extra in (("greedy", []), ("beam", beam)):
        done = cli("export", f"run_dir={trained_run}", f"export_dir={tmp_path / name}",
                   "format=litert", "compare_examples=0", *extra)  # fmt: skip
        assert done.returncode == 0, done.stderr
        out = _run_client(tmp_path / name, tmp_path)
        assert out["tensorflow"] == [] and out["seq2seq"] == []
        decoding = DecodingSettings.from_config(
            {"name": name, **({"beam_size": 3, "n_best": 2} if extra else {})}
        )
        _same(out["candidates"], Translator.from_run_dir(trained_run).candidates(
            INPUTS, **decoding.options()))  # fmt: skip
    lines = "Nov 28, 2026\n\r\n04.07.1950\n"  # the shell door: one translation per line
    shell = subprocess.run([sys.executable, str(tmp_path / "greedy" / "translate.py")],
                           input=lines, capture_output=True, text=True, timeout=300,
                           check=True, cwd=tmp_path)  # fmt: skip
    expected = Translator.from_run_dir(trained_run).translate(["Nov 28, 2026", "", "04.07.1950"])
    assert shell.stdout.split("\n") == [*expected, ""]
    gone = subprocess.run([sys.executable, str(tmp_path / "greedy" / "translate.py"),
                           str(tmp_path / "nope")], input="x\n", capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert gone.returncode == 2 and gone.stdout == ""
    assert gone.stderr.startswith(f"error: cannot load the LiteRT export in {tmp_path / 'nope'}")


def test_s2s_export_writes_the_litert_directory_and_its_report(trained_run, tmp_path, cli):
    out = tmp_path / "litert"
    done = cli("export", f"run_dir={trained_run}", f"export_dir={out}", "format=litert",
               "quantize=int8", "compare_examples=10")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "litert.json", "model.tflite", "report.json", "translate.py"]  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["quantize"] == "int8" and report["examples"] == 10
    assert report["model_bytes"] == (out / "model.tflite").stat().st_size
    assert report["weight_bytes"] < report["float_weight_bytes"]
    assert 0.0 <= report["quality"]["agreement"] <= 1.0
    assert set(report["quality"]["litert"]) == {"chrf", "exact_match"}
    spec = json.loads((out / "litert.json").read_text(encoding="utf-8"))
    assert (
        spec["source"]["characters"] == Translator.from_run_dir(trained_run).source_vocab.characters
    )


def test_int8_weights_are_over_three_times_smaller_and_float16_half():
    model = contract.tiny_model("lstm", {"units": 64, "embedding_dim": 16})
    translator = Translator(model, contract.VOCAB, contract.VOCAB, max_output_length=10)
    sizes = {q: weight_bytes(litert_bytes(translator, 10, DecodingSettings(), q))
             for q in (None, "int8", "float16")}  # fmt: skip
    assert sizes[None] / sizes["int8"] >= 3.0, sizes
    assert sizes[None] / sizes["float16"] >= 1.8, sizes


@pytest.mark.parametrize(
    "args, message",
    [
        (["format=onnx"], "format must be one of savedmodel, litert (got 'onnx')"),
        (["quantize=int8"], "quantize= applies to format=litert only"),
        (["format=litert", "quantize=int4"],
         "quantize must be one of none, int8, float16 (got 'int4')"),
        (["format=litert", "compare_examples=-1"],
         "compare_examples must be an integer >= 0 (got -1)"),
        (["format=litert", "decoding=sample"], "decoding=sample cannot be exported"),
        (["format=litert", "lexicon=lex.tsv"], "lexicon= is not supported with format=litert"),
    ],
)  # fmt: skip
def test_litert_settings_are_refused_in_one_line(trained_run, tmp_path, cli, args, message):
    done = cli("export", f"run_dir={trained_run}", f"export_dir={tmp_path / 'out'}", *args)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {message}"), last
    assert not (tmp_path / "out").exists()


def test_a_litert_export_refuses_an_existing_directory_and_a_missing_run(
    trained_run, tmp_path, cli
):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    done = cli("export", f"run_dir={trained_run}", f"export_dir={taken}", "format=litert")
    assert done.returncode == 2 and "already exists and is not empty" in done.stderr
    assert (taken / "keep.txt").read_text() == "mine"
    missing = cli("export", f"run_dir={tmp_path / 'nope'}", f"export_dir={tmp_path / 'o'}",
                  "format=litert")  # fmt: skip
    assert missing.returncode == 2 and str(tmp_path / "nope") in missing.stderr.splitlines()[-1]
    (tmp_path / "file").write_text("not a directory")
    under_a_file = cli("export", f"run_dir={trained_run}", "format=litert",
                       f"export_dir={tmp_path / 'file' / 'out'}")  # fmt: skip
    assert under_a_file.returncode == 2
    assert under_a_file.stderr.strip().splitlines()[-1].startswith("error: export_dir's parent")


@pytest.mark.e2e
def test_a_sentencepiece_run_ships_its_pieces_and_translates_alike(tmp_path, cli):
    """The file holds ids only: the client encodes with the shipped ``.model`` files (the
    ``sentencepiece`` package here; SentencePiece's library on a device)."""
    from seq2seq.tasks.train import train
    from tests.conftest import train_config
    from tests.test_sentencepiece import SP

    run_dir = tmp_path / "sp_run"
    train(train_config(run_dir, *SP))
    done = cli("export", f"run_dir={run_dir}", f"export_dir={tmp_path / 'sp'}",
               "format=litert", "compare_examples=0")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {"source.model", "target.model"} <= {p.name for p in (tmp_path / "sp").iterdir()}
    out = _run_client(tmp_path / "sp", tmp_path)
    assert out["tensorflow"] == [] and out["seq2seq"] == []
    _same(out["candidates"], Translator.from_run_dir(run_dir).candidates(INPUTS))


def test_the_service_decodes_with_the_litert_export_the_requests_it_fits(
    trained_run, tmp_path, cli
):
    from fastapi.testclient import TestClient

    from seq2seq.api import Limits
    from seq2seq.errors import Seq2SeqError
    from seq2seq.litert import LiteRTEngine
    from seq2seq.serving import create_app

    done = cli("export", f"run_dir={trained_run}", f"export_dir={tmp_path / 'lit'}",
               "format=litert", "compare_examples=0")  # fmt: skip
    assert done.returncode == 0, done.stderr
    plain, translator = Translator.from_run_dir(trained_run), Translator.from_run_dir(trained_run)
    engine = translator.engine = LiteRTEngine(tmp_path / "lit", translator)
    texts = INPUTS[:4]
    with TestClient(create_app(translator, {}, Limits())) as client:
        before = engine.inputs  # (after the start-up's warm-up)
        greedy = client.post("/translate", json=[{"src": t} for t in texts]).json()
        assert [a["tgt"] for a in greedy] == plain.translate(texts)
        assert engine.inputs == before + len(texts)  # the file's search: LiteRT decoded them
        beam = [{"src": t, "decoding": "beam", "beam_size": 2} for t in texts]
        prefixed = [{"src": texts[0], "prefix": "20"}]
        answers = [client.post("/translate", json=body).json() for body in (beam, prefixed)]
    assert engine.inputs == before + len(texts)  # another search, a prefix: TensorFlow
    assert [a["tgt"] for a in answers[0]] == plain.translate(texts, decoding="beam", beam_size=2)
    assert answers[1][0]["tgt"].startswith("20")
    other = contract.tiny_model("lstm", {})
    with pytest.raises(Seq2SeqError, match="exported from another model"):
        LiteRTEngine(tmp_path / "lit", Translator(other, contract.VOCAB, contract.VOCAB))
    with pytest.raises(Seq2SeqError, match="is not a LiteRT export"):
        LiteRTEngine(tmp_path, translator)
    refused = cli("serve", f"run_dir={trained_run}", f"litert_dir={tmp_path / 'nope'}", "port=0")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'nope'} is not")
