"""Training to a time budget: the cosine / linear schedule runs on the budget's minutes
(annealed at the deadline on any machine), the budget counts every part of a resumed run, and
training stops at the update that crosses the deadline."""

import json
import math

import keras
import pytest

from seq2seq.callbacks import TimeBudget
from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RunDir
from seq2seq.schedules import EpochDecay, StepSchedule, TimeDecay
from seq2seq.settings import TrainSettings
from seq2seq.training.loop import TrainingClock, schedule_callbacks
from tests.conftest import QUIET, TINY, train_config


class Clock:
    def __init__(self, seconds: float = 0.0) -> None:
        self.now = seconds

    def __call__(self) -> float:
        return self.now


def test_the_time_cosine_starts_at_the_rate_and_reaches_its_floor_at_the_deadline():
    clock = Clock()
    cosine = TimeDecay(0.01, max_minutes=2, clock=clock)
    rates = []
    for seconds in (0, 60, 120, 500):
        clock.now = seconds
        rates.append(cosine(epoch=7))  # the epoch does not matter
    assert rates[0] == pytest.approx(0.01)
    assert rates[1] == pytest.approx(0.0005 + 0.0095 * 0.5)
    assert rates[2] == rates[3] == pytest.approx(0.0005)


def test_a_resumed_run_continues_the_time_schedule_where_it_stopped():
    clock = TrainingClock(before=60.0)  # a minute trained before the resume
    cosine = TimeDecay(1.0, max_minutes=2, clock=clock.seconds)
    assert cosine(0) == pytest.approx(0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi / 2)), abs=1e-3)


def test_the_linear_decay_falls_in_a_straight_line_after_a_warm_up_in_minutes():
    clock = Clock()
    linear = TimeDecay(0.01, max_minutes=3, clock=clock, shape="linear", start_seconds=60)
    warmup = StepSchedule(linear, warmup_seconds=60, clock=clock)
    rates = []
    for seconds in (0, 30, 60, 120, 180, 240):
        clock.now = seconds
        rates.append(linear(0) * warmup.factor(update=1, seconds=seconds))
    assert rates == pytest.approx([0.0, 0.005, 0.01, 0.00525, 0.0005, 0.0005])
    assert warmup.every_update  # the last warm-up update is not left below the peak


def test_the_budget_only_stops_a_schedule_over_the_epochs():
    overrides = ["trainer.lr_schedule=linear", "trainer.reduce_lr=null", "trainer.max_minutes=5",
                 "trainer.schedule_over=epochs", "trainer.epochs=5"]  # fmt: skip
    settings = TrainSettings.from_config(train_config("unused", *overrides))
    found = schedule_callbacks(settings.trainer, TrainingClock())
    assert [type(c) for c in found] == [EpochDecay]
    assert [found[0].rate(e) for e in range(5)] == pytest.approx(
        [0.003, 0.0022875, 0.001575, 0.0008625, 0.00015]
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.schedule_over=minutes"], "trainer.schedule_over=minutes needs the budget"),
        (["trainer.schedule_over=steps"], "trainer.schedule_over='steps' is unknown"),
        (["trainer.warmup_minutes=1", "trainer.warmup_steps=10"], "both set the warm-up"),
        (["trainer.warmup_minutes=1", "trainer.lr_schedule=inverse_sqrt"],
         "set trainer.warmup_steps, not trainer.warmup_minutes"),
        (["trainer.warmup_minutes=5", "trainer.max_minutes=5"],
         "trainer.warmup_minutes=5 must be shorter than trainer.max_minutes=5"),
        (["trainer.warmup_minutes=-1"], "trainer.warmup_minutes must be 0 or a positive number"),
    ],
)  # fmt: skip
def test_schedule_settings_that_cannot_work_are_refused(overrides, message):
    with pytest.raises(Seq2SeqError, match=message):
        TrainSettings.from_config(train_config("unused", "trainer.reduce_lr=null", *overrides))


def test_with_a_budget_the_cosine_schedule_is_set_every_update_from_the_clock():
    overrides = ["trainer.lr_schedule=cosine", "trainer.reduce_lr=null", "trainer.max_minutes=5"]
    settings = TrainSettings.from_config(train_config("unused", *overrides))
    found = schedule_callbacks(settings.trainer, TrainingClock())
    assert [type(c) for c in found] == [StepSchedule]
    assert found[0].every_update and isinstance(found[0].rate_of_epoch, TimeDecay)


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


def _rates(run) -> list[float]:
    return [float(row["learning_rate"]) for row in RunDir(run).read_history()]


def test_the_rate_reaches_its_floor_at_the_deadline_and_a_resume_continues_the_curve(tmp_path, cli):
    run, budget = tmp_path / "run", ["trainer.lr_schedule=cosine", "trainer.learning_rate=0.01"]
    done = cli("train", *TINY, *QUIET, *budget, "trainer.epochs=10000",
               "trainer.max_minutes=0.1", f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rates, last = _rates(run), RunDir(run).latest_checkpoint()
    assert rates == sorted(rates, reverse=True) and len(rates) >= 3
    assert 0.0005 <= rates[-1] < 0.00075  # the floor, 1/20 of the rate, at the deadline
    assert last.path.name == f"epoch-{len(rates):04d}" and last.seconds >= 6.0  # at the deadline
    done = cli("train", *TINY, *QUIET, *budget, "trainer.epochs=10000", "trainer.resume=true",
               "trainer.max_minutes=0.2", f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    resumed = _rates(run)[len(rates)]
    assert 0.0005 < resumed < 0.007  # half-way along the longer budget, not back at 0.01
    assert RunDir(run).latest_checkpoint().seconds >= 12.0
