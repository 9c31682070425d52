"""``trainer.distribute``: tf.distribute training, checked on this CPU in child processes
(devices are set up before TensorFlow starts, and each process can do that only once)."""

from __future__ import annotations

import csv
import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, train_config

# Runs a tiny training in a fresh process, the CPU split into N logical devices first.
CHILD = """
import sys
from pathlib import Path
import tensorflow as tf

devices, output_dir, overrides = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
if devices > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * devices
    )
from tests.conftest import train_config
from seq2seq.tasks.train import train

train(train_config(output_dir, *overrides))
"""
# Even batches (320 training and 40 validation pairs, batches of 32 split 16 + 16), so that
# Keras's per-replica loss trackers weigh the replicas equally; padding still differs.
EVEN = ["trainer.bucket_width=null", "trainer.val_decoding.every=0", "trainer.epochs=3"]


def _train_child(tmp_path: Path, name: str, devices: int, *overrides: str) -> list[dict]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    out = tmp_path / name
    done = subprocess.run(
        [sys.executable, str(script), str(devices), str(out), *overrides],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with (out / "history.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.e2e
@pytest.mark.parametrize(
    "inputs",
    [["model.embedding_dim=8"], ["model.embedding_dim=null"]],
    ids=["embedding", "one_hot"],
)
def test_two_mirrored_replicas_give_the_losses_of_one_device(tmp_path, inputs):
    # Targets of 1 to 40 characters, so the two halves of a batch hold different numbers of
    # real characters: a mean of the replicas' means would differ from the global mean.
    rng = random.Random(0)
    lines = []
    for _ in range(400):
        source = "".join(rng.choice("abcdef ") for _ in range(rng.randint(2, 30))).strip() or "a"
        lines.append(f"{source}\t{(source[::-1] * 3)[: rng.randint(1, 40)].strip() or 'z'}")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = ["data=anki", f"data.path={pairs}", "data.num_samples=400", *EVEN, *inputs]
    one = _train_child(tmp_path, "one", 1, *data)
    two = _train_child(tmp_path, "two", 2, *data, "trainer.distribute=mirrored")
    assert len(one) == len(two) == 3
    for a, b in zip(one, two, strict=True):
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            assert float(b[key]) == pytest.approx(float(a[key]), rel=2e-4, abs=1e-5), key
    assert float(one[-1]["loss"]) < float(one[0]["loss"])  # it learned something


def test_unknown_strategy_and_multi_worker_without_cluster_are_refused(tmp_path, monkeypatch):
    from seq2seq.errors import Seq2SeqError
    from seq2seq.settings import TrainSettings

    with pytest.raises(Seq2SeqError, match=r"trainer\.distribute='tpu' is unknown"):
        TrainSettings.from_config(train_config(tmp_path, "trainer.distribute=tpu"))
    with pytest.raises(Seq2SeqError, match="needs a seed"):
        TrainSettings.from_config(
            train_config(tmp_path, "trainer.distribute=multi_worker", "seed=null")
        )
    with pytest.raises(Seq2SeqError, match="only the chief decodes"):
        TrainSettings.from_config(
            train_config(
                tmp_path,
                "trainer.distribute=multi_worker",
                "trainer.early_stopping.monitor=val_chrf",
            )
        )
    from seq2seq.distribute import cluster_resolver

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    with pytest.raises(Seq2SeqError, match="needs the cluster in TF_CONFIG"):
        cluster_resolver()
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(Seq2SeqError, match="TF_CONFIG is not a cluster description"):
        cluster_resolver()


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(run_dir: Path, scratch: Path, *extra: str, status: int = 0) -> list[str]:
    """Two local workers (free 127.0.0.1 ports) training into ``run_dir``; their stderr
    (both must exit with ``status``)."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    overrides = [
        "data.num_samples=400", "model.units=16", "model.embedding_dim=8", "trainer.epochs=2",
        "trainer.batch_size=32", "trainer.progress_bar=false", "seed=0",
        "trainer.distribute=multi_worker", f"hydra.run.dir={run_dir}", *extra,
    ]  # fmt: skip
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = os.environ | {"TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(scratch)}
        command = [sys.executable, str(ROOT / "scripts" / "train.py"), *overrides]
        procs.append(
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            )
        )
    try:
        results = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == status, err[-3000:]
    return [err for _, err in results]


@pytest.mark.e2e
def test_two_local_workers_train_one_run_directory_written_by_the_chief(tmp_path):
    run_dir, scratch = tmp_path / "run", tmp_path / "tmp"
    scratch.mkdir()
    logs = _run_workers(run_dir, scratch)
    assert (run_dir / "metrics.json").is_file() and (run_dir / "model.keras").is_file()
    assert len((run_dir / "history.csv").read_text(encoding="utf-8").splitlines()) == 3
    assert list(scratch.iterdir()) == []  # the worker's scratch run directory is gone
    assert "worker 1: training into scratch" in logs[1]
    assert "worker 1" not in (run_dir / "train.log").read_text(encoding="utf-8")
    translate = [sys.executable, str(ROOT / "scripts" / "translate.py"), f"run_dir={run_dir}"]
    translated = subprocess.run(
        translate, input="March 5, 2021\n", capture_output=True, text=True, timeout=300
    )
    assert translated.returncode == 0, translated.stderr[-2000:]
    assert len(translated.stdout.splitlines()) == 1

    # Killed after its last checkpoint (no metrics.json): both workers resume epoch 3.
    (run_dir / "metrics.json").unlink()
    logs = _run_workers(run_dir, scratch, "trainer.resume=true", "trainer.epochs=3")
    assert all("resuming from" in log and "2 epoch(s) done" in log for log in logs)
    assert len((run_dir / "history.csv").read_text(encoding="utf-8").splitlines()) == 4
    assert json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["train/epochs"] == 3

    # A refusal on the chief (finished run) stops the other worker too, at once.
    logs = _run_workers(run_dir, scratch, status=2)
    assert "holds a finished run" in logs[0]
    assert "error: another worker refused to start this training" in logs[1]


@pytest.mark.e2e
def test_the_time_budget_stops_all_workers_after_the_same_epoch(tmp_path):
    run_dir, scratch = tmp_path / "run", tmp_path / "tmp"
    scratch.mkdir()
    logs = _run_workers(run_dir, scratch, "trainer.epochs=4", "trainer.max_minutes=0.0001")
    assert all("time budget of 0.0 min used up after epoch 1" in log for log in logs)
    assert len((run_dir / "history.csv").read_text(encoding="utf-8").splitlines()) == 2


def test_the_time_budget_stops_every_worker_when_any_worker_ran_out():
    import keras

    from seq2seq.callbacks import TimeBudget

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    votes = []

    def any_worker(flag: bool) -> bool:  # another worker's budget ran out
        votes.append(flag)
        return True

    budget = TimeBudget(60.0, agree=any_worker)
    budget.set_model(model)
    budget.on_train_begin()
    budget.on_epoch_end(0)
    assert votes == [False] and model.stop_training
