"""data=hf: a Hugging Face dataset on local disk (a save_to_disk directory or data files),
with configurable (nested) fields, its own splits, bad rows, and one-line errors."""

import json
import logging

import datasets
import pytest

from seq2seq.data import load_task
from seq2seq.errors import Seq2SeqError
from seq2seq.tasks.train import train
from tests.conftest import train_config

PAIRS = [(f"src {i}", f"tgt {i} é") for i in range(60)]


def _translation_rows(pairs):
    return {"translation": [{"en": s, "fr": t} for s, t in pairs], "id": list(range(len(pairs)))}


@pytest.fixture
def saved_dict(tmp_path):
    """A DatasetDict shaped like the Hub's translation datasets, saved to disk."""
    path = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(_translation_rows(PAIRS)),
            "validation": datasets.Dataset.from_dict(_translation_rows([("v1", "V1")])),
            "test": datasets.Dataset.from_dict(_translation_rows([("t1", "T1"), ("t2", "T2")])),
        }
    ).save_to_disk(str(path))
    return str(path)


NESTED = {"source_field": "translation.en", "target_field": "translation.fr"}


def test_a_saved_dataset_dict_gives_its_own_splits_with_nested_fields(saved_dict):
    splits = load_task("hf", path=saved_dict, **NESTED)
    assert sorted(splits.train) == sorted(PAIRS)
    assert splits.val == [("v1", "V1")] and splits.test == [("t1", "T1"), ("t2", "T2")]


def test_a_saved_plain_dataset_is_the_training_split_with_held_out_pairs(tmp_path):
    path = tmp_path / "plain"
    rows = {"de": [s for s, _ in PAIRS], "en": [t for _, t in PAIRS]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(path))
    splits = load_task("hf", path=str(path), source_field="de", target_field="en",
                       val_size=5, test_size=7)  # fmt: skip
    assert splits.sizes() == {"train": 48, "val": 5, "test": 7}
    assert sorted([*splits.train, *splits.val, *splits.test]) == sorted(PAIRS)


def test_jsonl_data_files_with_a_test_file(tmp_path):
    train_file, test_file = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train_file.write_text("".join(json.dumps({"source": s, "target": t}) + "\n" for s, t in PAIRS))
    test_file.write_text(json.dumps({"source": "x", "target": "X"}) + "\n")
    splits = load_task("hf", path=str(train_file), test_path=str(test_file), val_size=4)
    assert splits.test == [("x", "X")] and len(splits.val) == 4 and len(splits.train) == 56


def test_bad_rows_are_skipped_with_one_warning_or_refused(tmp_path, caplog):
    path = tmp_path / "bad"
    rows = {
        "source": [*(s for s, _ in PAIRS), "", "two\nlines", "fine"],
        "target": [*(t for _, t in PAIRS), "empty source", "line break", None],
    }
    datasets.Dataset.from_dict(rows).save_to_disk(str(path))
    with caplog.at_level(logging.WARNING):
        splits = load_task("hf", path=str(path), val_size=5, test_size=5)
    assert sum(splits.sizes().values()) == 60
    assert "skipped 3 bad line(s)" in caplog.text and "train[60]: source is empty" in caplog.text
    assert "train[62]: target is missing" in caplog.text
    with pytest.raises(Seq2SeqError, match=r"bad row train\[60\]: source is empty"):
        load_task("hf", path=str(path), strict=True, val_size=5, test_size=5)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"path": None}, "data=hf needs data.path"),
        ({"path": "missing_dir"}, "data.path not found: missing_dir"),
        ({"source_field": "nope"}, "has no field 'nope' .data.source_field.; its fields: "
                                   "translation, id"),
        ({"train_split": "training"}, "has no split 'training' .data.train_split.; its splits:"
                                      " train, validation, test"),
        ({"test_path": "t.jsonl"}, "data.valid_path and data.test_path go with a data file"),
        ({"source_field": "a", "target_field": "a"}, "must differ"),
    ],
)  # fmt: skip
def test_bad_settings_are_one_line(saved_dict, options, expected):
    merged = {"path": saved_dict, **NESTED, **options}
    with pytest.raises(Seq2SeqError, match=expected):
        load_task("hf", **merged)


def test_a_directory_that_is_no_dataset_and_an_unknown_file_kind(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(Seq2SeqError, match="cannot read the dataset"):
        load_task("hf", path=str(tmp_path / "empty"))
    (tmp_path / "pairs.txt").write_text("a\tb\n")
    with pytest.raises(Seq2SeqError, match=r"not a save_to_disk directory nor a \.csv"):
        load_task("hf", path=str(tmp_path / "pairs.txt"))
    with pytest.raises(Seq2SeqError, match="not supported by data=hf"):
        load_task("hf", path=str(tmp_path / "empty"), streaming=True)


def test_training_on_a_saved_dataset(saved_dict, tmp_path):
    run = tmp_path / "run"
    fields = [f"data.{k}={v}" for k, v in NESTED.items()]
    train(train_config(run, "data=hf", f"data.path={saved_dict}", *fields, "trainer.epochs=1"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert "test/chrf" in metrics
