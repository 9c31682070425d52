import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RunDir
from seq2seq.tasks.train import train
from tests.conftest import QUIET, ROOT, TINY, train_config


def _epochs(run):
    with (run / "history.csv").open(newline="") as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def test_checkpoints_keep_the_last_k_complete_epochs(tmp_path):
    train(train_config(tmp_path, "trainer.epochs=3", "trainer.keep_checkpoints=2", *QUIET))
    run = RunDir(tmp_path)
    assert [c.path.name for c in run.checkpoints()] == ["epoch-0002", "epoch-0003"]
    assert run.latest_checkpoint().epoch == 2
    assert not list((tmp_path / "checkpoints").glob(".*"))


def test_resume_continues_after_the_last_checkpoint(tmp_path, run_templates):
    run = run_templates.copy(2, tmp_path / "run")
    # Make it look interrupted after epoch 1, with a history row the checkpoint never saw.
    (run / "metrics.json").unlink()
    (run / "model.keras").unlink()
    for old in RunDir(run).checkpoints()[1:]:
        import shutil

        shutil.rmtree(old.path)
    with (run / "history.csv").open("a") as f:
        f.write("1,0.5,0.5,0.5,0.5\n")
    train(train_config(run, "trainer.epochs=4", "trainer.resume=true", *QUIET))
    assert _epochs(run) == [0, 1, 2, 3]
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 4


def test_resume_refuses_a_finished_run_and_plain_training_refuses_a_partial_one(
    tmp_path, run_templates
):
    run_templates.copy(1, tmp_path / "done")
    with pytest.raises(Seq2SeqError, match="finished run"):
        train(train_config(tmp_path / "done", "trainer.resume=true", "trainer.epochs=1", *QUIET))
    (tmp_path / "done" / "metrics.json").unlink()
    with pytest.raises(Seq2SeqError, match=r"trainer\.resume=true"):
        train(train_config(tmp_path / "done", *QUIET))


@pytest.mark.e2e
def test_sigkill_after_the_first_checkpoint_then_resume_loses_nothing(tmp_path):
    run = tmp_path / "run"
    overrides = [o for o in TINY if not o.startswith("trainer.epochs")]
    args = [sys.executable, str(ROOT / "scripts" / "train.py"), *overrides, *QUIET,
            "trainer.epochs=30", f"hydra.run.dir={run}"]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 240
    while not RunDir(run).checkpoints() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "metrics.json").exists(), "training finished before it could be killed"
    result = subprocess.run(
        [*args, "trainer.resume=true"], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert _epochs(run) == list(range(30))
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 30
    # TensorBoard curves continue at the right step (an epoch redone after the kill may
    # appear twice, never a gap or a restart at 0).
    acc = EventAccumulator(str(run / "tensorboard" / "train"), size_guidance={"tensors": 0})
    acc.Reload()
    assert sorted({e.step for e in acc.Tensors("epoch_loss")}) == list(range(30))


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import keras
    import numpy as np

    import seq2seq.training.loop as training

    class PoisonAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                kernel = self.model.get_layer("decoder_lstm").cell.kernel
                kernel.assign(np.full(kernel.shape, np.nan, "float32"))

    original = training.training_callbacks
    monkeypatch.setattr(
        training,
        "training_callbacks",
        lambda *a, **k: [*original(*a, **k), PoisonAfterFirstEpoch()],
    )
    with pytest.raises(Seq2SeqError, match=r"diverged.*checkpoints/epoch-0001"):
        train(train_config(tmp_path, "trainer.epochs=4", *QUIET))
    assert [c.path.name for c in RunDir(tmp_path).checkpoints()] == ["epoch-0001"]
    assert not (tmp_path / "metrics.json").exists()
