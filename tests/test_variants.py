"""Model variants end to end: they train, resume, export and benchmark; bad options are
refused. (The model contract itself runs on every family in ``tests/test_families.py``.)"""

import json
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from seq2seq.decoding import GreedySearch
from seq2seq.errors import Seq2SeqError
from seq2seq.export import export_run
from seq2seq.models import ModelOptions, build_model
from seq2seq.models.families import KerasExampleSeq2Seq, LSTMSeq2Seq
from seq2seq.tasks.train import train
from seq2seq.translation import Translator
from seq2seq.vocab import END_ID, pad_batch
from tests.conftest import train_config
from tests.test_export import LOAD_WITH_TENSORFLOW_ONLY

VARIANTS = {
    "gru": ("gru", {}),
    "stacked": ("lstm", {"encoder_layers": 2, "decoder_layers": 2, "dropout": 0.1}),
    "stacked-uneven": ("gru", {"encoder_layers": 1, "decoder_layers": 2}),
    "bidirectional": ("lstm", {"bidirectional": True, "encoder_layers": 2}),
    "luong": ("lstm", {"attention": "luong", "recurrent_dropout": 0.1}),
    "bahdanau": ("gru", {"attention": "bahdanau", "bidirectional": True}),
    "luong-feeding": ("lstm", {"attention": "luong", "input_feeding": True, "decoder_layers": 2}),
    "bahdanau-feeding": (
        "gru",
        {"attention": "bahdanau", "input_feeding": True, "bidirectional": True},
    ),
    "conv": ("lstm", {"encoder": "conv", "bridge": "dense", "encoder_layers": 2}),
}
IDS = list(VARIANTS)


def _trim(row):
    row = list(row)
    return row[: row.index(END_ID) + 1] if END_ID in row else row


def _model(variant, seed=3):
    keras.utils.set_random_seed(seed)
    name, options = VARIANTS[variant]
    return build_model(name, 20, 10, units=8, embedding_dim=5, **options)


def _sources(n=9, seed=0):
    rng = np.random.default_rng(seed)
    rows = [list(rng.integers(4, 20, size=rng.integers(1, 9))) for _ in range(n)]
    return np.asarray(pad_batch(rows), np.int32)


@pytest.mark.parametrize("variant", ["luong", "bahdanau-feeding"])
def test_chunked_greedy_with_attention_takes_batches_of_any_source_length(variant, monkeypatch):
    model = _model(variant)
    batches = [_sources(n=9, seed=1), _sources(n=9, seed=1)[:, :4]]  # 8 and 4 steps wide
    single = [GreedySearch(model)(batch, max_length=8).ids for batch in batches]
    monkeypatch.setattr(GreedySearch, "compact_from", 2)
    monkeypatch.setattr(GreedySearch, "chunk_steps", 3)
    chunked = GreedySearch(model)
    for batch, expected in zip(batches, single, strict=True):
        np.testing.assert_array_equal(chunked(batch, max_length=8).ids, expected)


def test_the_default_options_build_the_keras_examples_model():
    keras.utils.set_random_seed(0)
    model = build_model("lstm", 20, 10, units=8, embedding_dim=5, dropout=0.1)
    assert type(model) is KerasExampleSeq2Seq and model.name == "lstm"
    assert model.training.name == "seq2seq"
    assert {"encoder_lstm", "decoder_lstm", "output"} <= {
        layer.name for layer in model.training.layers
    }
    assert ModelOptions().is_keras_example("lstm")
    stacked = build_model("lstm", 20, 10, units=8, encoder_layers=2)
    assert type(stacked) is LSTMSeq2Seq and stacked.name == "lstm"
    assert stacked.training.name == "seq2seq_lstm"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"attention": "dot"}, r"model\.attention must be null, luong or bahdanau"),
        ({"encoder_layers": 0}, r"model\.encoder_layers must be a positive integer"),
        ({"recurrent_dropout": 1.0}, r"model\.recurrent_dropout must be in \[0, 1\)"),
        ({"bidirectional": "yes"}, r"model\.bidirectional must be true or false"),
        ({"input_feeding": True}, r"model\.input_feeding=true needs model\.attention"),
        ({"encoder": "lstm"}, r"model\.encoder='lstm' is unknown; choose one of \['conv', 'rec"),
        ({"bridge": "magic"}, r"model\.bridge='magic' is unknown"),
        ({"encoder": "conv"}, r"model\.bridge=direct hands .* use model\.bridge=dense"),
        ({"encoder": "conv", "bidirectional": True}, r"bidirectional=true needs model\.encoder="),
        ({"kernel_size": 4}, r"model\.kernel_size must be odd"),
        ({"unit": 4}, r"model\.unit is not a setting here; known: attention, bidirectional"),
    ],
)
def test_bad_model_options_are_refused_naming_the_key(options, message):
    with pytest.raises(Seq2SeqError, match=message):
        build_model("lstm", 20, 10, units=8, **options)


def _overrides(variant):
    name, options = VARIANTS[variant]
    return [f"model={name}"] + [
        f"model.{k}={'null' if v is None else str(v).lower()}" for k, v in options.items()
    ]


QUIET = ["trainer.early_stopping=null", "trainer.reduce_lr=null"]


@pytest.mark.e2e
@pytest.mark.parametrize("variant", ["luong-feeding", "conv"])
def test_variant_trains_resumes_exports_and_benchmarks(variant, tmp_path):
    run = tmp_path / "run"
    train(train_config(run, *_overrides(variant), *QUIET, "trainer.epochs=1"))
    # Interrupted after epoch 1: resume to epoch 2 from its checkpoint.
    (run / "metrics.json").unlink()
    (run / "model.keras").unlink()
    train(
        train_config(run, *_overrides(variant), *QUIET, "trainer.epochs=2", "trainer.resume=true")
    )
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 2
    translator = Translator.from_run_dir(run)
    inputs = ["Nov 28, 2026", "", "le 1er mai 1999"]
    export_dir = export_run(run, tmp_path / "exported")
    result = subprocess.run(
        [sys.executable, "-c", LOAD_WITH_TENSORFLOW_ONLY, str(export_dir), json.dumps(inputs)],
        capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(result.stdout)["translations"] == translator.translate(inputs)
    from seq2seq.bench.decode import run_decode_benchmark

    report = run_decode_benchmark(
        run, num_sentences=8, textbook_sentences=2, batch_sizes=(1, 4), batch1_sentences=2,
        repeats=1,
    )  # fmt: skip
    assert report["identical_outputs"]
    shutil.rmtree(tmp_path / "exported")
