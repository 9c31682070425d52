import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from seq2seq.losses import SmoothedSparseCategoricalCrossentropy
from seq2seq.tasks.train import train
from seq2seq.vocab.store import read_run_vocab
from tests.conftest import ROOT, TINY, train_config


def _events(path):
    acc = EventAccumulator(str(path), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_tensorboard_has_train_and_validation_scalars(trained_run):
    train_tags = _events(trained_run / "tensorboard" / "train").Tags()["tensors"]
    val_tags = _events(trained_run / "tensorboard" / "validation").Tags()["tensors"]
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train_tags)
    assert {"epoch_loss", "epoch_accuracy", "epoch_chrf", "epoch_exact_match"} <= set(val_tags)


def test_tensorboard_has_translation_tables_each_epoch(trained_run):
    acc = _events(trained_run / "tensorboard" / "validation")
    events = acc.Tensors("translations")
    assert [e.step for e in events] == [0, 1]
    table = tf.make_ndarray(events[-1].tensor_proto).item().decode("utf-8")
    header, rule, *rows = table.split("\n")
    assert (header, rule) == ("| source | reference | hypothesis |", "|---|---|---|")
    cells = [row.strip("| ").split(" | ") for row in rows]
    # The first validation pairs, and what the model of that epoch (its checkpoint) said.
    from seq2seq.data import load_task
    from seq2seq.models import load_model
    from seq2seq.rundir import RunDir
    from seq2seq.translation import Translator

    run = RunDir(trained_run)
    data = dict(run.read_config()["data"])
    pairs = load_task(data.pop("name"), **data).val[:5]
    assert [c[:2] for c in cells] == [[s, t] for s, t in pairs]
    source, target, _ = read_run_vocab(run)
    checkpoint = run.latest_checkpoint()
    assert checkpoint.epoch == events[-1].step
    reference = Translator.from_run_dir(trained_run)
    epoch_model = Translator(
        load_model(checkpoint.model_file),
        source,
        target,
        reference.max_output_length,
        reference.max_input_length,
    )
    expected = epoch_model.translate([s for s, _ in pairs])
    assert [c[2] for c in cells] == [h or "∅" for h in expected]


def test_tensorboard_hparams_hold_config_and_final_metrics(trained_run):
    acc = _events(trained_run / "tensorboard")
    content = acc.PluginTagToContent("hparams")
    session = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert session.hparams["model.units"].number_value == 16
    assert session.hparams["data.name"].string_value == "dates"
    metrics = json.loads((trained_run / "metrics.json").read_text())
    tags = set(acc.Tags()["tensors"])
    assert {"test/exact_match", "test/chrf", "val/loss"} <= tags
    value = float(tf.make_ndarray(acc.Tensors("test/chrf")[0].tensor_proto))
    assert value == pytest.approx(metrics["test/chrf"], rel=1e-5)


def test_history_has_validation_decoding_columns(trained_run):
    with (trained_run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {"val_chrf", "val_exact_match", "learning_rate"} <= set(rows[0])
    assert all(0 <= float(r["val_exact_match"]) <= 1 for r in rows)


def test_model_keras_is_the_best_epoch_with_early_stopping(tmp_path):
    train(train_config(tmp_path, "trainer.epochs=4", "trainer.early_stopping.patience=1",
                       "trainer.learning_rate=0.05", "trainer.reduce_lr=null"))  # fmt: skip
    with (tmp_path / "history.csv").open() as f:
        val_losses = [float(r["val_loss"]) for r in csv.DictReader(f)]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["val/loss"] == pytest.approx(min(val_losses), rel=1e-4)


def test_label_smoothing_loss_is_masked_and_smoothed():
    y_true = np.array([[1, 2, 0]], "int32")
    probs = np.array([[[0.1, 0.7, 0.2], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]]], "float32")
    loss = SmoothedSparseCategoricalCrossentropy(label_smoothing=0.3)
    targets = np.eye(3)[y_true[0, :2]] * 0.7 + 0.1
    expected = -(targets * np.log(probs[0, :2])).sum(-1).mean()
    y_pred = keras.ops.convert_to_tensor(probs)
    y_pred._keras_mask = keras.ops.convert_to_tensor(y_true != 0)
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    config = loss.get_config()
    assert (
        keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(loss)
        ).get_config()
        == config
    )


def test_training_with_label_smoothing_saves_a_loadable_model(tmp_path):
    import numpy as np

    from seq2seq.decoding import greedy_decode_reference
    from seq2seq.translation import Translator
    from seq2seq.vocab import pad_batch

    train(train_config(tmp_path, "trainer.epochs=1", "trainer.label_smoothing=0.1"))
    translator = Translator.from_run_dir(tmp_path)
    texts = ["Nov 28, 2026", "le 1er mai 1999"]
    ids = np.asarray(pad_batch([translator.source_vocab.encode(t) for t in texts]), np.int32)
    oracle = greedy_decode_reference(translator.model, ids, translator.max_output_length)
    expected = [translator.target_vocab.decode(row) for row in oracle]
    assert translator.translate(texts) == expected and all(expected)
    keras.models.load_model(tmp_path / "model.keras", safe_mode=True)  # with its compiled loss


@pytest.mark.e2e
def test_multirun_gives_each_job_its_own_run_directory(tmp_path):
    overrides = [o for o in TINY if not o.startswith("model.units")]
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train.py"), "-m", "model.units=8,12",
         *overrides, "trainer.epochs=1", f"hydra.sweep.dir={tmp_path}"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for job, units in (("0", 8), ("1", 12)):
        run = tmp_path / job
        assert json.loads((run / "metrics.json").read_text())["test/num_pairs"] > 0
        assert "units: " + str(units) in (run / "config.yaml").read_text()
        assert list((run / "tensorboard" / "train").glob("events.out.tfevents.*"))
