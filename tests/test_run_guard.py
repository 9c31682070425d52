"""The run directory under hostile use: kills before the first checkpoint, resumes with other
settings, two trainings at once, refused launches, damaged checkpoints."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import LOCK_FILE, RunDir
from seq2seq.tasks.train import train
from tests.conftest import QUIET, ROOT, TINY, train_config

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` with its bytes and modification time."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _unfinish(run: Path, keep_checkpoints: bool) -> None:
    """Makes a finished run look killed: before the final save, or during its first epoch."""
    (run / "metrics.json").unlink()
    (run / "model.keras").unlink()
    if not keep_checkpoints:
        shutil.rmtree(run / "checkpoints")


def _script(run: Path, *overrides: str) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "train.py"), *_args(run, *overrides)]


def _args(run: Path, *overrides: str) -> list[str]:
    """``s2s-train``'s command line for a tiny run in ``run``."""
    return [*TINY, *QUIET, f"hydra.run.dir={run}", *overrides]


def test_a_run_killed_in_its_first_epoch_starts_over_on_resume(tmp_path, run_templates):
    run = run_templates.copy(1, tmp_path / "run")
    _unfinish(run, keep_checkpoints=False)  # vocab, history row, events: no checkpoint
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / ".epoch-0000.tmp").mkdir()  # killed while checkpointing
    with pytest.raises(Seq2SeqError, match=r"unfinished run .*trainer\.resume=true"):
        train(train_config(run, "trainer.epochs=1", *QUIET))
    train(train_config(run, "trainer.epochs=2", "trainer.resume=true", *QUIET))
    rows = RunDir(run).read_history()
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 2
    assert not list((run / "checkpoints").glob(".*"))


@pytest.mark.slow
def test_sigkill_during_the_first_epoch_then_resume_finishes(tmp_path):
    run = tmp_path / "run"
    args = _script(run, "data.num_samples=20000", "trainer.epochs=2")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + 240
    while not (run / "vocab.json").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not RunDir(run).checkpoints(), "the first epoch ended before the kill"
    done = subprocess.run([*args, "trainer.resume=true"], capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["epoch"] for r in RunDir(run).read_history()] == ["0", "1"]


def test_resume_refuses_changed_model_data_or_optimizer_and_keeps_config_true(
    tmp_path, run_templates
):
    run = run_templates.copy(1, tmp_path / "run")
    _unfinish(run, keep_checkpoints=True)
    config = (run / "config.yaml").read_bytes()
    changed = ["model.units=32", "trainer.optimizer=sgd", "data.num_samples=500"]
    with pytest.raises(Seq2SeqError) as caught:
        train(train_config(run, "trainer.resume=true", *changed, *QUIET))
    message = str(caught.value)
    assert "\n" not in message
    assert "model.units=16 in the run, 32 now" in message
    assert "trainer.optimizer='adam' in the run, 'sgd' now" in message
    assert "data.num_samples=400 in the run, 500 now" in message
    assert (run / "config.yaml").read_bytes() == config
    # What may change on resume does, and config.yaml says so.
    train(train_config(run, "trainer.resume=true", "trainer.epochs=2", *QUIET))
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"]["epochs"] == 2 and saved["model"]["units"] == 16


def test_a_refused_launch_leaves_a_finished_run_as_it_was(tmp_path, cli):
    run = tmp_path / "run"
    first = cli("train", *_args(run, "trainer.epochs=1"))
    assert first.returncode == 0, first.stderr[-2000:]
    assert (run / ".hydra" / "config.yaml").is_file()
    before = _snapshot(run)
    for extra in ([], ["trainer.resume=true"], ["model.units=32"]):  # (no more epochs)
        refused = cli("train", *_args(run, "trainer.epochs=1", *extra))
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines()[-1] == (
            f"error: run directory {run} holds a finished run (metrics.json); continue it with"
            " trainer.resume=true and a larger trainer.epochs (or trainer.max_minutes, when its"
            " budget stopped it), or choose another hydra.run.dir"
        )
    assert _snapshot(run) == before


def test_two_trainings_cannot_share_a_run_directory(tmp_path, cli):
    holder = RunDir(tmp_path / "run")
    with holder.lock():  # a flock: a second open of the file is refused, in this process too
        refused = cli("train", *_args(tmp_path / "run"))
        assert refused.returncode == 2, refused.stderr[-2000:]
        last = refused.stderr.strip().splitlines()[-1]
        run = tmp_path / "run"
        assert (
            last == f"error: run directory {run} is in use by another training (pid {os.getpid()})"
        )
    assert not (tmp_path / "run" / "config.yaml").exists()


@pytest.mark.e2e
def test_the_lock_dies_with_a_killed_process(tmp_path):
    code = (
        "import sys, time; from seq2seq.rundir import RunDir\n"
        f"with RunDir({str(tmp_path)!r}).lock():\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    with pytest.raises(Seq2SeqError, match="in use by another training"), RunDir(tmp_path).lock():
        pass
    proc.kill()
    proc.wait()
    with RunDir(tmp_path).lock():  # no stale lock after kill -9
        pass


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, run_templates):
    run = run_templates.copy(2, tmp_path / "run")
    _unfinish(run, keep_checkpoints=True)
    newest = RunDir(run).latest_checkpoint()
    newest.model_file.write_bytes(b"not a zip")
    train(train_config(run, "trainer.epochs=3", "trainer.resume=true", *QUIET))
    assert [r["epoch"] for r in RunDir(run).read_history()] == ["0", "1", "2"]


def test_an_unreadable_checkpoint_state_is_skipped_not_a_traceback(tmp_path, run_templates):
    run = run_templates.copy(2, tmp_path / "run")
    run = RunDir(run)
    newest = run.latest_checkpoint()
    (newest.path / "state.json").write_text("{broken")
    assert [c.epoch for c in run.checkpoints()] == [0]
    for bad in ('{"epoch": "x"}', '{"epoch": -1}', "[]"):
        (newest.path / "state.json").write_text(bad)
        assert [c.epoch for c in run.checkpoints()] == [0]


def test_train_seconds_count_every_resumed_part(tmp_path, run_templates):
    run = run_templates.copy(2, tmp_path / "run")
    first = json.loads((run / "metrics.json").read_text())["train/seconds"]
    _unfinish(run, keep_checkpoints=True)
    spent = RunDir(run).latest_checkpoint().seconds
    assert 0 < spent <= first
    train(train_config(run, "trainer.epochs=3", "trainer.resume=true", *QUIET))
    assert json.loads((run / "metrics.json").read_text())["train/seconds"] > spent


def test_an_unknown_optimized_metric_is_refused_before_training(tmp_path):
    with pytest.raises(Seq2SeqError, match=r"optimized_metric='nope' is not a metric"):
        train(train_config(tmp_path, "optimized_metric=nope", *QUIET))
    assert not (tmp_path / "history.csv").exists()


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_kept(tmp_path):
    from seq2seq.rundir import RunDir

    victim = tmp_path / "victim.txt"
    victim.write_text("DATA\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(victim)
    with pytest.raises(Seq2SeqError, match=r"\.lock is a symbolic link"), RunDir(run).lock():
        pass
    assert victim.read_text() == "DATA\n"


def test_a_lock_file_that_is_not_a_file_is_refused(tmp_path):
    import os

    from seq2seq.rundir import RunDir

    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / ".lock")
    with pytest.raises(Seq2SeqError, match=r"\.lock is not a file"), RunDir(run).lock():
        pass


def _pairs_file(path: Path) -> Path:
    path.write_text(
        "".join(f"le {d} mai {y}\t{y}-05-{d:02d}\n" for y in (1999, 2026) for d in range(1, 29)),
        encoding="utf-8",
    )
    return path


def _refusals(run: Path, pairs: Path) -> dict:
    """Every kind of check that refuses continuing ``run`` (trained on ``pairs``), as the
    change it makes and the overrides of the refused launch."""
    more = ["trainer.resume=true", "trainer.epochs=2"]

    def move_data():
        pairs.rename(pairs.with_suffix(".moved"))
        return lambda: pairs.with_suffix(".moved").rename(pairs)

    def damage_checkpoints():
        saved = {p: (p.read_bytes(), p.stat()) for p in (run / "checkpoints").rglob("*.keras")}
        for path in saved:
            path.write_bytes(b"not a zip")

        def undo():  # the bytes and times they had
            for path, (data, before) in saved.items():
                path.write_bytes(data)
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

        return undo

    def nothing():
        return lambda: None

    return {
        "data file moved": (move_data, more),
        "every checkpoint damaged": (damage_checkpoints, more),
        "unknown optimized metric": (nothing, [*more, "optimized_metric=test/nope"]),
        "changed model": (nothing, [*more, "model.units=32"]),
        "no more epochs": (nothing, ["trainer.resume=true", "trainer.epochs=1"]),
    }


def test_a_refused_continuation_changes_nothing_whatever_refuses_it(tmp_path, cli):
    """Each check that can refuse continuing a finished run comes before the launch's first
    write: the run directory (every file's bytes and time) is as it was, metrics.json,
    config.yaml, .hydra/ and train.log included. (The lock file, which the checks run under,
    names the last process that held it.)"""
    run, pairs = tmp_path / "run", _pairs_file(tmp_path / "pairs.tsv")
    data = ["data=tsv", f"data.path={pairs}"]
    first = cli("train", *_args(run, "trainer.epochs=1", *data))
    assert first.returncode == 0, first.stderr[-2000:]
    assert (run / "train.log").is_file() and (run / ".hydra" / "config.yaml").is_file()

    def snapshot():
        return {k: v for k, v in _snapshot(run).items() if k != LOCK_FILE}

    before = snapshot()
    for kind, (change, overrides) in _refusals(run, pairs).items():
        undo = change()
        refused = cli("train", *_args(run, *data, *overrides))
        undo()
        assert refused.returncode == 2, (kind, refused.stderr[-2000:])
        errors = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "Traceback" not in refused.stderr, (kind, refused.stderr)
        assert snapshot() == before, kind
    continued = cli("train", *_args(run, *data, "trainer.resume=true", "trainer.epochs=2"))
    assert continued.returncode == 0, continued.stderr[-2000:]
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 2


@pytest.mark.parametrize("where", ["new/nested/run", "empty"])
def test_a_refused_first_launch_leaves_no_run_directory_behind(tmp_path, cli, where):
    """A launch refused before it took its (new) run directory takes back what it made: the
    folders Hydra created for it; a directory that was there before stays, empty."""
    (tmp_path / "empty").mkdir()
    data = ["data=tsv", f"data.path={tmp_path / 'missing.tsv'}"]
    refused = cli("train", *_args(tmp_path / where, *data), cwd=tmp_path)
    assert refused.returncode == 2 and "missing.tsv" in refused.stderr, refused.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    assert list((tmp_path / "empty").iterdir()) == []


def test_taking_back_a_refused_claim_leaves_anything_else_alone(tmp_path):
    """The clean-up after a refused first launch removes only the launch's own claim, and
    only when no other launch holds the directory; folders it did not create stay."""
    from seq2seq.cli import LaunchRecord, forget_refused_launch
    from seq2seq.rundir import RUN_MARKER

    def refused_into(run: Path, top: Path | None) -> None:
        LaunchRecord.run_dir, LaunchRecord.created, LaunchRecord.was_empty = run, top, True
        forget_refused_launch()

    other = tmp_path / "a" / "run"  # something else arrived beside the claim: all kept
    other.mkdir(parents=True)
    (other / RUN_MARKER).write_text("x")
    (other / "notes.txt").write_text("mine")
    refused_into(other, tmp_path / "a")
    assert sorted(p.name for p in other.iterdir()) == [RUN_MARKER, "notes.txt"]

    held = tmp_path / "b" / "run"  # another launch holds it: kept
    held.mkdir(parents=True)
    (held / RUN_MARKER).write_text("x")
    with RunDir(held).lock():
        refused_into(held, tmp_path / "b")
    assert (held / RUN_MARKER).is_file()

    shared = tmp_path / "c" / "run"  # created run/ only: c/ holds more and stays
    shared.mkdir(parents=True)
    (shared / RUN_MARKER).write_text("x")
    (tmp_path / "c" / "keep").write_text("x")
    refused_into(shared, tmp_path / "c")
    assert not shared.exists() and (tmp_path / "c" / "keep").is_file()
