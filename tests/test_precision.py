"""``trainer.precision=mixed_bfloat16``: bfloat16 compute while training; translation,
evaluation and ``model.keras`` stay float32."""

from __future__ import annotations

import csv

import keras
import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.models import load_model
from seq2seq.settings import TrainSettings
from seq2seq.tasks.train import train
from seq2seq.translation import Translator
from tests.conftest import train_config


def _history(run_dir) -> list[dict]:
    with (run_dir / "history.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_mixed_bfloat16_trains_like_float32_and_saves_a_float32_model(tmp_path):
    train(train_config(tmp_path / "f32", "trainer.epochs=3"))
    train(train_config(tmp_path / "bf16", "trainer.epochs=3", "trainer.precision=mixed_bfloat16"))
    f32, bf16 = _history(tmp_path / "f32"), _history(tmp_path / "bf16")
    for a, b in zip(f32, bf16, strict=True):  # bfloat16 rounding, not a different training
        assert float(b["val_loss"]) == pytest.approx(float(a["val_loss"]), rel=0.05)
    saved = load_model(tmp_path / "bf16" / "model.keras")
    assert {layer.dtype_policy.name for layer in saved.training.layers} == {"float32"}
    checkpoint = sorted((tmp_path / "bf16" / "checkpoints").iterdir())[-1]
    trained = keras.models.load_model(checkpoint / "model.keras", compile=False)
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in trained.layers}
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    translator = Translator.from_run_dir(tmp_path / "bf16")
    assert len(translator.translate(["March 5, 2021", "1999-12-31"])) == 2


def test_unknown_precision_is_refused(tmp_path):
    with pytest.raises(Seq2SeqError, match=r"trainer\.precision='float16' is unknown"):
        TrainSettings.from_config(train_config(tmp_path, "trainer.precision=float16"))


def test_auto_reads_native_bfloat16_from_the_cpu_flags(tmp_path):
    from seq2seq.training.precision import native_bf16

    amx = tmp_path / "amx"
    amx.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    zen = tmp_path / "zen"
    zen.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    assert native_bf16(amx) == "amx_bf16"
    assert native_bf16(zen) is None
    assert native_bf16(tmp_path / "missing") is None


def test_auto_chooses_float32_without_native_bfloat16_and_measures_with_it(tmp_path):
    from seq2seq.training import vocabularies as phase
    from seq2seq.training.precision import choose_precision

    zen = tmp_path / "zen"
    zen.write_text("flags\t\t: fpu sse2 avx2 fma\n")
    amx = tmp_path / "amx"
    amx.write_text("flags\t\t: fpu amx_bf16\n")
    settings = TrainSettings.from_config(train_config(tmp_path / "run", "trainer.precision=auto"))
    splits = phase.load_data(settings)
    vocabs = phase.build_vocabularies(splits, None, resuming=False, settings=settings)
    datasets = phase.make_datasets(splits, vocabs, settings)
    without = choose_precision(vocabs, settings, datasets, cpuinfo=zen)
    assert (without.name, without.speedup) == ("float32", None)
    measured = choose_precision(vocabs, settings, datasets, cpuinfo=amx)
    assert measured.speedup > 0
    assert measured.name == ("mixed_bfloat16" if measured.speedup >= 1.1 else "float32")


def test_auto_is_recorded_in_metrics_json(tmp_path, cli):
    import json

    from tests.conftest import QUIET, TINY

    run = tmp_path / "run"
    done = cli("train", *TINY, *QUIET, "trainer.epochs=1", "trainer.precision=auto",
               f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train/precision"] in ("float32", "mixed_bfloat16")
    assert "trainer.precision=auto:" in done.stderr
