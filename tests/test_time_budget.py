"""Training to a time budget: the cosine schedule runs on the budget's minutes (annealed at
the deadline on any machine), the budget counts every part of a resumed run, and training
stops at the update that crosses the deadline."""

import json
import math

import keras
import pytest

from seq2seq.callbacks import StepSchedule, TimeBudget, TimeCosine
from seq2seq.training.loop import TrainingClock, schedule_callbacks
from tests.conftest import QUIET, TINY


class Clock:
    def __init__(self, seconds: float = 0.0) -> None:
        self.now = seconds

    def __call__(self) -> float:
        return self.now


def test_the_time_cosine_starts_at_the_rate_and_reaches_its_floor_at_the_deadline():
    clock = Clock()
    cosine = TimeCosine(0.01, max_minutes=2, clock=clock)
    rates = []
    for seconds in (0, 60, 120, 500):
        clock.now = seconds
        rates.append(cosine(epoch=7))  # the epoch does not matter
    assert rates[0] == pytest.approx(0.01)
    assert rates[1] == pytest.approx(0.0005 + 0.0095 * 0.5)
    assert rates[2] == rates[3] == pytest.approx(0.0005)


def test_a_resumed_run_continues_the_time_schedule_where_it_stopped():
    clock = TrainingClock(before=60.0)  # a minute trained before the resume
    cosine = TimeCosine(1.0, max_minutes=2, clock=clock.seconds)
    assert cosine(0) == pytest.approx(0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi / 2)), abs=1e-3)


def test_with_a_budget_the_cosine_schedule_is_set_every_update_from_the_clock():
    from seq2seq.settings import TrainSettings
    from tests.conftest import train_config

    overrides = ["trainer.lr_schedule=cosine", "trainer.reduce_lr=null", "trainer.max_minutes=5"]
    settings = TrainSettings.from_config(train_config("unused", *overrides))
    found = schedule_callbacks(settings.trainer, TrainingClock())
    assert [type(c) for c in found] == [StepSchedule]
    assert found[0].every_update and isinstance(found[0].rate_of_epoch, TimeCosine)


def test_the_budget_stops_at_the_update_that_crosses_it():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    clock = Clock(59.0)
    budget = TimeBudget(1.0, clock=clock, per_update=True)
    model.stop_training = False  # as fit sets it
    budget.set_model(model)
    budget.on_epoch_begin(2)
    budget.on_train_batch_end(0)
    assert not model.stop_training
    clock.now = 60.0
    budget.on_train_batch_end(1)
    assert model.stop_training


def test_a_run_stopped_by_its_budget_mid_epoch_is_checkpointed_and_reported(tmp_path, cli):
    run = tmp_path / "run"
    done = cli("train", *TINY, *QUIET, "trainer.epochs=5", "trainer.max_minutes=0.0001",
               "trainer.lr_schedule=cosine", f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "used up in epoch 1, after its update 1" in done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train/epochs"] == 1 and "test/chrf" in metrics
    assert (run / "checkpoints" / "epoch-0001").is_dir()


def test_average_last_reports_the_average_of_the_last_checkpoints_beside_the_final(tmp_path, cli):
    run = tmp_path / "run"
    done = cli("train", *TINY, *QUIET, "trainer.epochs=3", "trainer.keep_checkpoints=2",
               "trainer.average_last=2", f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["averaged/checkpoints"] == ["epoch-0002", "epoch-0003"]
    assert 0 <= metrics["averaged/test/chrf"] <= 100 and "test/chrf" in metrics


def test_average_last_needs_the_checkpoints_it_averages(tmp_path, cli):
    done = cli("train", *TINY, "trainer.keep_checkpoints=2", "trainer.average_last=3",
               f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "trainer.average_last=3 needs 2 or more, and at most trainer.keep_checkpoints=2"
        " (the checkpoints kept)"
    )
