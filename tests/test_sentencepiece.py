"""vocab=sentencepiece: subword vocabularies trained on the training split, in every door
(training, every search rule, evaluation, export, inspection, the server), and one-line
errors for bad settings and damaged run directories."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import TOKENIZER_DIR, RunDir
from seq2seq.translation import Translator
from seq2seq.vocab import (
    END_ID,
    START_ID,
    UNK_ID,
    VOCABULARIES,
    make_vocabularies,
    vocab_options,
    vocabularies_from_payload,
    vocabularies_payload,
)
from seq2seq.vocab.sentencepiece import SentencePieceVocabulary, sample_pairs
from seq2seq.vocab.store import read_run_vocab, write_run_vocab
from tests.cli_runner import run_command
from tests.conftest import train_config

_EN = [
    "the",
    "cat",
    "dog",
    "book",
    "cup",
    "table",
    "chair",
    "shelf",
    "desk",
    "house",
    "garden",
    "window",
    "door",
    "river",
    "tree",
    "city",
    "road",
    "morning",
    "evening",
    "friend",
    "mother",
    "father",
    "child",
    "teacher",
    "student",
    "green",
    "small",
]
_FR = [
    "le",
    "chat",
    "chien",
    "livre",
    "tasse",
    "table",
    "chaise",
    "étagère",
    "bureau",
    "maison",
    "jardin",
    "fenêtre",
    "porte",
    "rivière",
    "arbre",
    "ville",
    "route",
    "matin",
    "soir",
    "ami",
    "mère",
    "père",
    "enfant",
    "professeur",
    "élève",
]
_RNG = random.Random(0)
PAIRS = [
    (" ".join(_RNG.choice(_EN) for _ in range(6)) + f" {i}",
     " ".join(_RNG.choice(_FR) for _ in range(6)) + f" numéro {i}")
    for i in range(300)
]  # fmt: skip
SP = ["vocab=sentencepiece", "vocab.size=80"]
INPUTS = ["Nov 28, 2026", "", "  le 1er   mai 1999 ", "日本 2026", "SAT 3RD MAY 1902"]


def _options(**values):
    return vocab_options("sentencepiece", **{"size": 60, **values})


def test_pieces_give_back_the_exact_text_and_keep_the_reserved_ids():
    source, target = make_vocabularies("sentencepiece", _options(), PAIRS)
    assert source != target and len(source) == len(target) == 60
    for text in ["le chat est sur la table numéro 7", " le  jardin   du père "]:
        ids = target.encode(text, add_start=True, add_end=True)
        assert ids[0] == START_ID and ids[-1] == END_ID and len(ids) < len(text)
        # Runs of spaces read as one, as the translator normalises its inputs.
        assert target.decode([*ids, 9, 9]) == " ".join(text.split())  # stops at END
    # A character never seen in training reads as UNK and renders as U+FFFD.
    assert UNK_ID in source.encode("the ☃ cat")
    assert source.decode(source.encode("the ☃ cat")) == "the \ufffd cat"
    assert source.unknown_characters("the ☃ cat Ω") == ["Ω", "☃"]
    assert source.tokens(source.encode("the cat"))[0].startswith("▁")


def test_shared_is_one_model_for_both_sides():
    source, target = make_vocabularies("sentencepiece", _options(shared=True), PAIRS)
    assert source == target and source.file_name == "shared.model"
    assert target.decode(target.encode("the cat est sur")) == "the cat est sur"


def test_bpe_and_coverage_settings_train():
    source, _ = make_vocabularies(
        "sentencepiece", _options(model_type="bpe", character_coverage=0.98), PAIRS
    )
    assert source.model_type == "bpe" and len(source) == 60


def test_the_sample_is_bounded_uniform_and_seeded():
    pairs = [(str(i), str(i)) for i in range(1000)]
    assert sample_pairs(pairs, 2000, 0) == pairs
    drawn = sample_pairs(iter(pairs), 100, 3)
    assert len(drawn) == 100 and drawn == sample_pairs(pairs, 100, 3)
    assert max(int(s) for s, _ in drawn) > 500  # not the first 100


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"size": 4}, "vocab.size must be more than 4"),
        ({"size": "big"}, "vocab.size must be a positive integer"),
        ({"model_type": "word"}, r"vocab.model_type must be one of \['unigram', 'bpe'\]"),
        ({"character_coverage": 0}, r"vocab.character_coverage must be in \(0, 1\]"),
        ({"character_coverage": 1.5}, r"vocab.character_coverage must be in \(0, 1\]"),
        ({"shared": "yes"}, "vocab.shared must be true or false"),
        ({"sample_size": 0}, "vocab.sample_size must be a positive integer"),
        ({"pieces": 3}, "vocab.pieces is not a setting here"),
    ],
)
def test_bad_settings_are_one_line(values, message):
    with pytest.raises(Seq2SeqError, match=message):
        _options(**values)


def test_sizes_the_data_cannot_support_are_one_line():
    with pytest.raises(Seq2SeqError, match=r"vocab.size=5000 is larger than the source"):
        make_vocabularies("sentencepiece", _options(size=5000), PAIRS)
    with pytest.raises(Seq2SeqError, match=r"vocab.size=20 is too small for the source"):
        make_vocabularies("sentencepiece", _options(size=20), PAIRS)
    with pytest.raises(Seq2SeqError, match=r"too small for the source and target training"):
        make_vocabularies("sentencepiece", _options(size=20, shared=True), PAIRS)


def test_vocab_json_names_the_model_files_and_refuses_damaged_ones(tmp_path):
    source, target = make_vocabularies("sentencepiece", _options(), PAIRS)
    run = RunDir(tmp_path)
    write_run_vocab(run, source, target, {"max_source_length": 40})
    assert sorted(p.name for p in (tmp_path / TOKENIZER_DIR).iterdir()) == [
        "source.model",
        "target.model",
    ]
    again_source, again_target, meta = read_run_vocab(run)
    assert (again_source, again_target, meta["max_source_length"]) == (source, target, 40)
    model = tmp_path / TOKENIZER_DIR / "target.model"
    model.write_bytes(model.read_bytes()[:-10])
    with pytest.raises(Seq2SeqError, match=r"target.model is damaged or replaced"):
        read_run_vocab(run)
    model.unlink()
    with pytest.raises(Seq2SeqError, match=r"SentencePiece model not found: .*target.model"):
        read_run_vocab(run)
    payload = vocabularies_payload(source, target)
    payload["source"]["model_file"] = "../elsewhere.model"
    with pytest.raises(ValueError, match="model_file must be a file name"):
        vocabularies_from_payload(payload, tmp_path / TOKENIZER_DIR)


def test_a_third_kind_is_one_registered_class():
    assert VOCABULARIES.names() == ["char", "sentencepiece"]
    with pytest.raises(Seq2SeqError, match=r"vocab.name='words' is unknown; choose one of"):
        vocab_options("words")


@pytest.fixture(scope="module")
def sp_run(tmp_path_factory) -> Path:
    """A tiny SentencePiece run with attention (so alignments and the inspector apply)."""
    from seq2seq.tasks.train import train

    run_dir = tmp_path_factory.mktemp("sp_run")
    train(train_config(run_dir, *SP, "model.attention=luong", "data.num_samples=600"))
    return run_dir


def test_a_sentencepiece_run_trains_and_records_its_models(sp_run):
    payload = json.loads((sp_run / "vocab.json").read_text())
    assert payload["source"]["tokenizer"] == "sentencepiece"
    assert (sp_run / TOKENIZER_DIR / payload["target"]["model_file"]).is_file()
    metrics = json.loads((sp_run / "metrics.json").read_text())
    assert "test/chrf" in metrics and metrics["train/epochs"] == 2


@pytest.mark.parametrize(
    ("decoding", "params"),
    [("greedy", {}), ("beam", {"beam_size": 3, "n_best": 2}), ("sample", {"seed": 1})],
)
def test_every_search_rule_gives_detokenized_text(sp_run, decoding, params):
    translator = Translator.from_run_dir(sp_run)
    cands = translator.candidates(INPUTS, decoding=decoding, **params)
    assert len(cands) == len(INPUTS) and cands[1][0].text == ""
    for found in cands:
        for cand in found:
            assert "▁" not in cand.text and "<end>" not in cand.text
    if decoding == "greedy":  # the compiled loop = the step-by-step oracle, decoded
        from seq2seq.bench.decode import textbook_decode

        limit = translator.max_output_length
        oracle = [textbook_decode(translator, t, limit, "predict_on_batch") for t in INPUTS[2:]]
        assert [c[0].text for c in cands[2:]] == oracle


def test_the_decode_benchmarks_floor_counts_a_subword_runs_pieces(sp_run):
    """The arithmetic floor counts the loop's steps: pieces, not characters (else a
    SentencePiece run's C beat its floor)."""
    from seq2seq.bench.decode import mean_steps

    translator = Translator.from_run_dir(sp_run)
    texts = ["Nov 28, 2026", "le 1er mai 1999", "04.07.1950"]
    outputs = translator.translate(texts)
    sources, targets = mean_steps(translator, texts, outputs)
    assert sources == np.mean([len(ids) for ids in translator.encode_inputs(texts)])
    assert targets == np.mean([len(translator.target_vocab.encode(o)) for o in outputs])
    assert sources < np.mean([len(t) for t in texts])  # pieces are longer than characters


def test_evaluation_scores_the_detokenized_text(sp_run, tmp_path):
    from seq2seq.evaluation import score

    translator = Translator.from_run_dir(sp_run)
    sources = ["Nov 28, 2026", "le 1er mai 1999"]
    outputs = translator.translate(sources)
    assert score(outputs, outputs)["exact_match"] == 1.0
    result = _command("evaluate", f"run_dir={sp_run}", f"output_dir={tmp_path / 'eval'}")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    saved = json.loads((sp_run / "metrics.json").read_text())
    assert metrics["chrf"] == pytest.approx(saved["test/chrf"], abs=1e-6)


LOAD_WITH_TENSORFLOW_TEXT_ONLY = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # the SentencePiece ops
model = tf.saved_model.load(sys.argv[1])
out = model.signatures["serving_default"](tf.constant(json.loads(sys.argv[2])))
print(json.dumps({
    "translations": [t.decode("utf-8") for t in out["translations"].numpy()],
    "scores": [float(s) for s in out["scores"].numpy()],
    "nbest": [[t.decode("utf-8") for t in row] for row in out["nbest_translations"].numpy()],
    "imported_seq2seq": any(m.startswith("seq2seq") for m in sys.modules),
}))
"""


@pytest.mark.e2e
def test_the_saved_model_holds_the_pieces_and_equals_the_translator(sp_run, tmp_path):
    from seq2seq.export import export_run
    from seq2seq.settings import DecodingSettings

    inputs = [*INPUTS, "x" * 500, "café ☃ 2026"]
    decoding = DecodingSettings(name="beam", n_best=2)
    export_dir = export_run(sp_run, tmp_path / "exported", decoding=decoding)
    encoded = json.dumps(inputs, ensure_ascii=True)
    result = subprocess.run(
        [sys.executable, "-c", LOAD_WITH_TENSORFLOW_TEXT_ONLY, str(export_dir), encoded],
        capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path,
    )  # fmt: skip
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["imported_seq2seq"] is False
    expected = Translator.from_run_dir(sp_run).candidates(inputs, decoding="beam", n_best=2)
    assert out["translations"] == [c[0].text for c in expected]
    assert out["scores"] == pytest.approx([c[0].score for c in expected], abs=1e-4)
    assert [row[: len(want)] for row, want in zip(out["nbest"], expected, strict=True)] == [
        [c.text for c in want] for want in expected
    ]


def test_alignments_the_server_and_the_inspector_label_pieces(sp_run, tmp_path):
    from fastapi.testclient import TestClient

    from seq2seq.serving import create_app

    translator = Translator.from_run_dir(sp_run)
    (aligned,) = translator.alignments(["le 1er mai 1999"])
    assert aligned.source_tokens == translator.source_vocab.tokens(
        translator.source_vocab.encode("le 1er mai 1999")
    )
    assert aligned.weights.shape == (len(aligned.output_tokens) + 1, len(aligned.source_tokens))
    with TestClient(create_app(translator, {"run_dirs": [str(sp_run)]})) as client:
        out = client.post("/translate", json=[{"src": "le 1er mai", "alignment": True}]).json()
    assert out[0]["alignment"]["source"] == translator.source_vocab.tokens(
        translator.source_vocab.encode("le 1er mai")
    )
    result = _command("inspect", f"run_dir={sp_run}", "input=le 1er mai",
                      f"output_dir={tmp_path / 'inspect'}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pieces; the encoder also reads" in result.stdout


def test_a_run_missing_or_with_a_damaged_model_file_is_one_line(sp_run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(sp_run, broken)
    (broken / TOKENIZER_DIR / "source.model").write_bytes(b"not a model")
    result = _command("translate", f"run_dir={broken}", "inputs=[le 1er mai]")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {broken / TOKENIZER_DIR / 'source.model'} is damaged or replaced: it is not"
        " the model vocab.json was written with (SHA-256 differs)"
    ]
    (broken / TOKENIZER_DIR / "source.model").unlink()
    result = _command("translate", f"run_dir={broken}", "inputs=[le 1er mai]")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "SentencePiece model not found" in result.stderr


def test_a_resumed_run_keeps_its_models_and_averaging_copies_them(tmp_path, monkeypatch):
    from seq2seq.averaging import write_averaged
    from seq2seq.tasks.train import train
    from seq2seq.vocab import sentencepiece

    run = tmp_path / "run"
    train(train_config(run, *SP, "trainer.epochs=1"))
    before = {p.name: p.read_bytes() for p in (run / TOKENIZER_DIR).iterdir()}

    def refuse(*args, **kwargs):
        raise AssertionError("SentencePiece trained again on resume")

    monkeypatch.setattr(sentencepiece, "train_model", refuse)
    train(train_config(run, *SP, "trainer.epochs=2", "trainer.resume=true"))
    assert {p.name: p.read_bytes() for p in (run / TOKENIZER_DIR).iterdir()} == before
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 2
    out = write_averaged(RunDir(run), RunDir(run).checkpoints()[-2:], tmp_path / "avg")
    assert {p.name: p.read_bytes() for p in (out / TOKENIZER_DIR).iterdir()} == before
    assert len(Translator.from_run_dir(out).translate(["le 1er mai"])) == 1


def test_streamed_training_pairs_train_sentencepiece_on_a_sample(tmp_path):
    from seq2seq.tasks.train import train

    corpus = tmp_path / "pairs.tsv"
    corpus.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS), encoding="utf-8")
    run = tmp_path / "run"
    train(
        train_config(
            run, "data=tsv", f"data.path={corpus}", "data.streaming=true", "data.val_size=10",
            "data.test_size=10", "vocab=sentencepiece", "vocab.size=60",
            "vocab.sample_size=50", "trainer.epochs=1",
        )
    )  # fmt: skip
    source, target, _ = read_run_vocab(RunDir(run))
    assert len(source) == len(target) == 60


def test_a_char_run_writes_the_vocab_json_it_always_did(trained_run):
    payload = json.loads((trained_run / "vocab.json").read_text())
    assert set(payload["source"]) == {"special_tokens", "characters"}
    assert not (trained_run / TOKENIZER_DIR).exists()


def _command(name, *args):
    return run_command(name, *args)


def test_textbook_pieces_round_trip_through_numpy():
    source, _ = make_vocabularies("sentencepiece", _options(), PAIRS)
    ids = np.asarray([*source.encode("the cat", add_end=True), 0, 0], np.int32)
    assert source.decode(ids) == "the cat"
    assert isinstance(source, SentencePieceVocabulary)


@pytest.mark.parametrize("planted", ["dev-zero", "fifo", "sparse", "directory"])
def test_a_planted_run_file_is_one_line_never_a_hang_or_a_memory_error(sp_run, tmp_path, planted):
    """A tokenizer model, vocab.json or config.yaml that is a link to /dev/zero, a FIFO, a
    huge sparse file or a directory is refused in one line before it is read."""
    import os
    import shutil

    from seq2seq.rundir import RunDir

    for name in ("tokenizer/source.model", "vocab.json", "config.yaml"):
        run = tmp_path / f"{planted}-{name.replace('/', '-')}"
        shutil.copytree(sp_run, run)
        target = run / name
        target.unlink()
        if planted == "dev-zero":
            target.symlink_to("/dev/zero")
        elif planted == "fifo":
            os.mkfifo(target)
        elif planted == "sparse":
            with target.open("wb") as f:
                f.truncate(20 << 30)  # 20 GB, no blocks
        else:
            target.mkdir()
        with pytest.raises(Seq2SeqError) as caught:
            if name == "config.yaml":
                RunDir(run).read_config()
            else:
                Translator.from_run_dir(run)
        message = str(caught.value)  # names the file (or the run and the file's name)
        assert "\n" not in message and Path(name).name in message, message
