"""Checkpoint averaging: the mean of identical checkpoints is the checkpoint; different
models are refused in one line; s2s-average writes a run directory that translates."""

import shutil

import numpy as np
import pytest

from seq2seq.averaging import average_models
from seq2seq.errors import Seq2SeqError
from seq2seq.models import build_model, load_model
from seq2seq.rundir import RunDir
from seq2seq.tasks.average import average
from seq2seq.translation import Translator
from tests.conftest import compose_config


def test_the_average_of_identical_checkpoints_is_the_checkpoint(trained_run, tmp_path):
    newest = RunDir(trained_run).latest_checkpoint().model_file
    copy = tmp_path / "copy.keras"
    shutil.copyfile(newest, copy)
    averaged = average_models([newest, copy])
    for got, want in zip(averaged.training.get_weights(), load_model(newest).training.get_weights(),
                         strict=True):  # fmt: skip
        np.testing.assert_array_equal(got, want)


def test_the_average_is_the_element_wise_mean(trained_run, tmp_path):
    first, second = (c.model_file for c in RunDir(trained_run).checkpoints()[-2:])
    averaged = average_models([first, second]).training.get_weights()
    a, b = load_model(first).training.get_weights(), load_model(second).training.get_weights()
    for got, x, y in zip(averaged, a, b, strict=True):
        np.testing.assert_allclose(got, (x + y) / 2, rtol=1e-6)


def test_checkpoints_of_different_models_are_refused(trained_run, tmp_path):
    other = tmp_path / "other.keras"
    build_model("lstm", 10, 10, units=4, embedding_dim=2).training.save(other)
    newest = RunDir(trained_run).latest_checkpoint().model_file
    with pytest.raises(Seq2SeqError, match="their models differ in layers or shapes"):
        average_models([newest, other])


def test_s2s_average_writes_a_run_that_translates(trained_run, tmp_path):
    out = tmp_path / "avg"
    average(compose_config("average", [f"run_dir={trained_run}", "last=2", f"output_dir={out}"]))
    assert Translator.from_run_dir(out).translate(["Nov 28, 2026"])[0]
    with pytest.raises(Seq2SeqError, match="exists and is not an empty directory"):
        average(compose_config("average", [f"run_dir={trained_run}", f"output_dir={out}"]))
    with pytest.raises(Seq2SeqError, match="keeps 2 checkpoint"):
        average(compose_config("average", [f"run_dir={trained_run}", "last=3",
                                           f"output_dir={tmp_path / 'x'}"]))  # fmt: skip
    with pytest.raises(Seq2SeqError, match=r"no checkpoint of epoch\(s\) \[9\]"):
        average(compose_config("average", [f"run_dir={trained_run}", "epochs=[1,9]",
                                           f"output_dir={tmp_path / 'y'}"]))  # fmt: skip
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
