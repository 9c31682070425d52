import csv
import json

import pytest
import yaml

from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RunDir
from seq2seq.tasks.train import train
from tests.conftest import train_config


def test_training_fills_the_run_directory(trained_run):
    for name in ("config.yaml", "vocab.json", "model.keras", "history.csv", "metrics.json"):
        assert (trained_run / name).is_file(), name
    config_text = (trained_run / "config.yaml").read_text(encoding="utf-8")
    assert "${" not in config_text
    assert yaml.safe_load(config_text)["model"]["units"] == 16

    with (trained_run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])

    metrics = json.loads((trained_run / "metrics.json").read_text())
    for key in ("test/exact_match", "test/char_accuracy", "val/loss"):
        assert key in metrics
    assert 0.0 <= metrics["test/exact_match"] <= 1.0
    assert 0.0 <= metrics["test/char_accuracy"] <= 1.0
    assert metrics["val/loss"] == pytest.approx(float(rows[-1]["val_loss"]))

    events = list((trained_run / "tensorboard").rglob("events.out.tfevents.*"))
    assert {p.parent.name for p in events} >= {"train", "validation"}


def test_train_returns_the_optimized_metric(tmp_path):
    value = train(train_config(tmp_path, "trainer.epochs=1", "optimized_metric=test/exact_match"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert value == metrics["test/exact_match"]


def test_same_seed_gives_the_same_first_epoch(tmp_path):
    train(train_config(tmp_path / "a", "trainer.epochs=1", "seed=3"))
    train(train_config(tmp_path / "b", "trainer.epochs=1", "seed=3"))
    train(train_config(tmp_path / "c", "trainer.epochs=1", "seed=4"))

    def loss(run):
        with (tmp_path / run / "history.csv").open() as f:
            return float(next(csv.DictReader(f))["loss"])

    # Same seed: same initial weights and batch order (thread scheduling may move the last bits).
    assert loss("a") == pytest.approx(loss("b"), rel=1e-4)
    assert loss("a") != pytest.approx(loss("c"), rel=1e-4)


def test_one_hot_model_trains_on_a_three_column_anki_file(tmp_path):
    lines = [f"w{i} x{i % 7}\tm{i} y{i % 5}\tCC-BY 2.0 (France) #{i}" for i in range(60)]
    data = tmp_path / "pairs.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    train(
        train_config(
            run, "data=anki", f"data.path={data}", "data.num_samples=50", "model.embedding_dim=null"
        )
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test/num_pairs"] == 5
    vocab = json.loads((run / "vocab.json").read_text(encoding="utf-8"))
    assert "w" in vocab["source"]["characters"] and "m" in vocab["target"]["characters"]
    assert "C" not in vocab["source"]["characters"] + vocab["target"]["characters"]


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("model.units=-4", "model.units"),
        ("trainer.epochs=0", "trainer.epochs"),
        ("trainer.batch_size=2.5", "trainer.batch_size"),
        ("trainer.learning_rate=0", "trainer.learning_rate"),
        ("trainer.optimizer=adamax9", "trainer.optimizer"),
        ("model.dropout=1.5", "model.dropout"),
        ("seed=abc", "seed"),
    ],
)
def test_bad_config_values_are_rejected_naming_the_key(tmp_path, override, key):
    with pytest.raises(Seq2SeqError, match=key.replace(".", r"\.")):
        train(train_config(tmp_path, override))
    assert not (tmp_path / "vocab.json").exists()  # rejected before any data work


def test_anki_without_a_path_or_with_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(Seq2SeqError, match=r"data\.path is required"):
        train(train_config(tmp_path, "data=anki"))
    with pytest.raises(Seq2SeqError, match="data file not found"):
        train(train_config(tmp_path, "data=anki", f"data.path={tmp_path / 'nope.txt'}"))


def test_an_existing_run_directory_is_not_overwritten(trained_run):
    before = (trained_run / "metrics.json").read_text()
    with pytest.raises(Seq2SeqError, match="holds a finished run"):
        train(train_config(trained_run))
    assert (trained_run / "metrics.json").read_text() == before


def test_deterministic_mode_gives_bit_identical_histories(tmp_path):
    args = ("trainer.epochs=2", "seed=7", "trainer.deterministic=true")
    train(train_config(tmp_path / "a", *args))
    train(train_config(tmp_path / "b", *args))

    def losses(run):
        with (tmp_path / run / "history.csv").open() as f:
            return [(r["loss"], r["val_loss"]) for r in csv.DictReader(f)]

    assert losses("a") == losses("b")


def test_deterministic_mode_needs_a_seed(tmp_path):
    with pytest.raises(Seq2SeqError, match="needs a seed"):
        train(train_config(tmp_path, "trainer.deterministic=true", "seed=null"))


def test_max_length_filters_long_pairs(tmp_path, caplog):
    lines = [f"{'a' * (i % 30 + 1)}\t{'b' * (i % 7 + 1)}" for i in range(60)]
    data = tmp_path / "pairs.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        train(
            train_config(tmp_path / "run", "data=anki", f"data.path={data}", "data.max_length=20")
        )
    assert "dropped" in caplog.text
    vocab = json.loads((tmp_path / "run" / "vocab.json").read_text())
    assert vocab["max_source_length"] <= 20
    # evaluate.py / benchmark.py regenerate the same, filtered, test split from config.yaml
    from seq2seq.evaluation import run_test_pairs

    test_pairs = run_test_pairs(tmp_path / "run")
    assert (
        len(test_pairs)
        == json.loads((tmp_path / "run" / "metrics.json").read_text())["test/num_pairs"]
    )
    assert all(len(s) <= 20 and len(t) <= 20 for s, t in test_pairs)


def test_dirty_anki_file_trains_leniently_and_is_refused_strictly(tmp_path):
    lines = [f"w{i}\tm{i}" for i in range(40)] + ["no tab here", "\tempty source"]
    data = tmp_path / "dirty.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    train(train_config(tmp_path / "lenient", "data=anki", f"data.path={data}"))
    assert (tmp_path / "lenient" / "metrics.json").is_file()
    with pytest.raises(Seq2SeqError, match=r"dirty\.txt:41: no tab"):
        train(
            train_config(tmp_path / "strict", "data=anki", f"data.path={data}", "data.strict=true")
        )


def test_time_budget_stops_after_the_epoch_that_crosses_it_and_still_reports(tmp_path):
    train(train_config(tmp_path, "trainer.epochs=5", "trainer.max_minutes=0.0001"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["train/epochs"] == 1 and "test/chrf" in metrics
    assert (tmp_path / "model.keras").is_file()


def test_cosine_schedule_anneals_over_the_epochs_and_refuses_reduce_lr(tmp_path):
    from seq2seq.schedules import EpochDecay
    from seq2seq.settings import TrainSettings

    schedule = EpochDecay(0.004, epochs=5)
    assert [round(schedule.rate(e), 6) for e in range(6)] == [
        0.004, 0.003444, 0.0021, 0.000756, 0.0002, 0.0002
    ]  # fmt: skip
    with pytest.raises(Seq2SeqError, match=r"add trainer\.reduce_lr=null"):
        TrainSettings.from_config(train_config(tmp_path, "trainer.lr_schedule=cosine"))
    with pytest.raises(Seq2SeqError, match=r"trainer\.lr_schedule='step' is unknown"):
        TrainSettings.from_config(train_config(tmp_path, "trainer.lr_schedule=step"))
    train(
        train_config(
            tmp_path, "trainer.lr_schedule=cosine", "trainer.reduce_lr=null", "trainer.epochs=3"
        )
    )
    rates = [float(row["learning_rate"]) for row in RunDir(tmp_path).read_history()]
    assert rates == pytest.approx([0.003, 0.001575, 0.00015], rel=1e-4)


def test_steps_per_epoch_makes_short_epochs_that_cycle_the_pairs(tmp_path):
    quiet = ["trainer.early_stopping=null", "trainer.reduce_lr=null"]
    train(train_config(tmp_path, "trainer.steps_per_epoch=3", "trainer.epochs=4", *quiet,
                       "trainer.val_decoding.every=0"))  # fmt: skip
    rows = RunDir(tmp_path).read_history()
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]  # 12 batches: past one pass
    with pytest.raises(Seq2SeqError, match=r"trainer\.steps_per_epoch must be a positive"):
        train(train_config(tmp_path / "bad", "trainer.steps_per_epoch=0"))
