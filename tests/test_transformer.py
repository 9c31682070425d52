"""The Transformer family through the doors a user opens: train (with the settings a
Transformer needs), translate with every rule, alignments, inspect, resume; and the
learning-rate schedule it trains with. The model contract itself runs in
``tests/test_families.py`` (cases ``transformer-*``)."""

import json
import math

import numpy as np
import pytest

from tests.conftest import QUIET, TINY

TRANSFORMER = [
    "model=transformer", "model.units=16", "model.heads=2", "model.ff_units=32",
    "trainer.learning_rate=0.005", "trainer.warmup_steps=5", "trainer.lr_schedule=inverse_sqrt",
    "trainer.beta_2=0.98", "trainer.label_smoothing=0.1", "trainer.reduce_lr=null",
]  # fmt: skip
_TINY = [o for o in TINY if not o.startswith(("model.units", "model.embedding_dim"))]


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory):
    from tests.cli_runner import run_command

    run = tmp_path_factory.mktemp("transformer") / "run"
    done = run_command("train", *_TINY, *TRANSFORMER, "trainer.early_stopping=null",
                       f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return run


def test_a_transformer_trains_and_records_its_settings(transformer_run):
    metrics = json.loads((transformer_run / "metrics.json").read_text())
    assert metrics["train/epochs"] == 2 and math.isfinite(metrics["val/loss"])
    config = (transformer_run / "config.yaml").read_text()
    assert "name: transformer" in config and "warmup_steps: 5" in config


@pytest.mark.parametrize(
    "decoding",
    [[], ["decoding=beam", "decoding.beam_size=3", "decoding.n_best=2"], ["decoding=sample"]],
)
def test_a_transformer_run_translates_with_every_rule(transformer_run, cli, decoding):
    done = cli("translate", f"run_dir={transformer_run}", 'inputs=["May 5 2001","1999-12-31"]',
               *decoding)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == (4 if "decoding.n_best=2" in decoding else 2)


def test_transformer_alignments_are_its_cross_attention(transformer_run):
    from seq2seq.translation import Translator

    translator = Translator.from_run_dir(transformer_run)
    inputs = ["May 5 2001", "1 1 1999"]
    aligned = translator.aligned(inputs, translator.translate(inputs))
    for text, entry in zip(inputs, aligned, strict=True):
        assert entry.weights.shape == (len(entry.output_tokens) + 1, len(text))
        np.testing.assert_allclose(entry.weights.sum(-1), 1.0, rtol=1e-5)


def test_inspecting_a_transformer_reports_its_attention_per_layer(transformer_run, cli, tmp_path):
    done = cli("inspect", f"run_dir={transformer_run}", "input=May 5 2001",
               f"output_dir={tmp_path}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "decoder block_1 cross-attention" in done.stdout
    assert (tmp_path / "attention.png").is_file()


def test_a_transformer_run_resumes_for_more_epochs(transformer_run, cli, tmp_path):
    import shutil

    run = shutil.copytree(transformer_run, tmp_path / "run")
    done = cli("train", *_TINY, *TRANSFORMER, "trainer.early_stopping=null", "trainer.epochs=3",
               "trainer.resume=true", f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 3


def test_the_warm_up_rises_linearly_then_inverse_sqrt_decays_from_the_peak():
    from seq2seq.schedules import StepSchedule

    schedule = StepSchedule(lambda epoch: 1.0, warmup_steps=4, inverse_sqrt=True)
    assert [schedule.factor(u) for u in (1, 2, 4, 16)] == [0.25, 0.5, 1.0, 0.5]
    held = StepSchedule(lambda epoch: 1.0, warmup_steps=4, inverse_sqrt=False)
    assert [held.factor(u) for u in (2, 4, 100)] == [0.5, 1.0, 1.0]


def test_a_warm_up_on_a_recurrent_run_reaches_the_rate_and_is_logged(tmp_path, cli):
    run = tmp_path / "run"
    done = cli("train", *TINY, *QUIET, "trainer.epochs=1", "trainer.warmup_steps=3",
               f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    history = (run / "history.csv").read_text().splitlines()
    rate = float(history[1].split(",")[history[0].split(",").index("learning_rate")])
    assert rate == pytest.approx(0.003)


def test_transformer_settings_are_checked_in_one_line(cli, tmp_path):
    done = cli("train", *_TINY, "model=transformer", "model.units=10", "model.heads=4",
               f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: model.units=10 must be even and a multiple of model.heads=4"
    )


def test_an_ensemble_of_a_transformer_run_with_itself_translates_as_the_run(transformer_run, cli):
    inputs = 'inputs=["May 5 2001","1999-12-31","3/4/1950"]'
    alone = cli("translate", f"run_dir={transformer_run}", inputs, "decoding=beam")
    pair = cli("translate", f"run_dirs=[{transformer_run},{transformer_run}]", inputs,
               "decoding=beam")  # fmt: skip
    assert pair.returncode == 0, pair.stderr
    assert pair.stdout == alone.stdout


def test_a_transformer_run_averages_its_checkpoints_and_fine_tunes(transformer_run, cli, tmp_path):
    averaged = tmp_path / "averaged"
    done = cli("average", f"run_dir={transformer_run}", "last=2", f"output_dir={averaged}")
    assert done.returncode == 0, done.stderr
    done = cli("translate", f"run_dir={averaged}", 'inputs=["May 5 2001"]')
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1, done.stderr
    tuned = tmp_path / "tuned"
    done = cli("train", *_TINY, *TRANSFORMER, "trainer.epochs=1", f"hydra.run.dir={tuned}",
               f"trainer.init_from={transformer_run}", "data.num_samples=100")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "starting from the weights of" in done.stderr


def test_a_transformer_encoder_with_an_lstm_decoder_trains_translates_and_is_inspected(
    tmp_path, cli
):
    run = tmp_path / "mixed"
    done = cli("train", *TINY, *QUIET, "trainer.epochs=1", "model.encoder=transformer",
               "model.bridge=dense", "model.attention=luong", "model.heads=2",
               "model.ff_units=32", f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = cli("translate", f"run_dir={run}", 'inputs=["May 5 2001"]', "decoding=beam")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1, done.stderr
    done = cli("inspect", f"run_dir={run}", "input=May 5 2001", f"output_dir={tmp_path / 'i'}")
    assert done.returncode == 0, done.stderr
    assert "decoder attention: weights" in done.stdout
    assert (tmp_path / "i" / "attention.png").is_file()


@pytest.mark.e2e
def test_a_transformer_saved_model_translates_like_the_cli_without_the_project(
    transformer_run, tmp_path
):
    from seq2seq.export import export_run
    from seq2seq.settings import DecodingSettings
    from seq2seq.translation import Translator
    from tests.test_export import INPUTS, _run_saved_model

    params = {"beam_size": 3, "length_penalty": 1.0}
    beam = DecodingSettings(
        name="beam", n_best=2, params=DecodingSettings(name="beam").rule.params(**params)
    )
    export_dir = export_run(transformer_run, tmp_path / "exported", decoding=beam)
    out = _run_saved_model(export_dir, tmp_path)  # a process that imports TensorFlow only
    assert out["imported_seq2seq"] is False
    expected = Translator.from_run_dir(transformer_run).candidates(
        INPUTS, decoding="beam", n_best=2, **params
    )
    assert out["translations"] == [c[0].text for c in expected]
    for row, want in zip(out["nbest"], expected, strict=True):
        assert row[: len(want)] == [c.text for c in want]
