"""Streamed Anki files (``data.streaming=true``): one scan splits and profiles the file, the
training pairs are read from disk on every pass."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import pytest

from seq2seq.data import load_task, read_anki
from seq2seq.data.pipeline import make_dataset
from seq2seq.data.splits import TrainProfile
from seq2seq.data.stream import StreamedPairs, StreamSource, pair_key, scan_anki
from seq2seq.errors import Seq2SeqError
from seq2seq.vocab import Vocabulary


def _write(path: Path, n: int, extra: str = "") -> Path:
    lines = [f"w{i} {'x' * (i % 7)}\tm{i} {'é' * (i % 5)}\tCC-BY" for i in range(n)]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def _stream(path: Path, **options) -> object:
    defaults = {"val_size": 5, "test_size": 4, "seed": 0, "streaming": True, "path": str(path)}
    return load_task("anki", **(defaults | options))


def test_splits_are_disjoint_complete_and_the_same_on_every_scan(tmp_path):
    path = _write(tmp_path / "pairs.txt", 60)
    splits = _stream(path)
    assert isinstance(splits.train, StreamedPairs)
    train = list(splits.train)
    assert (len(train), len(splits.val), len(splits.test)) == (51, 5, 4)
    assert len(splits.train) == 51
    everything = train + splits.val + splits.test
    assert sorted(everything) == sorted(
        load_task(
            "anki", path=str(path), num_samples=None, val_fraction=0.0, test_fraction=0.0
        ).train
    )
    assert len(set(everything)) == 60
    again = _stream(path)
    assert (list(again.train), again.val, again.test) == (train, splits.val, splits.test)
    assert list(splits.train) == train  # a second pass over the same split
    other = _stream(path, seed=1)
    assert other.val != splits.val


def test_validation_takes_the_smallest_keys_and_test_the_next(tmp_path):
    path = _write(tmp_path / "pairs.txt", 50)
    pairs = read_anki(path)
    order = sorted(range(50), key=lambda i: pair_key(7, i))
    splits = _stream(path, seed=7)
    assert splits.val == [pairs[i] for i in order[:5]]
    assert splits.test == [pairs[i] for i in order[5:9]]


def test_the_profile_is_that_of_the_training_pairs_alone(tmp_path):
    # A character and a length only held-out pairs have must not reach the vocabulary.
    path = _write(tmp_path / "pairs.txt", 40)
    first = scan_anki(StreamSource(path), 3, 2, seed=0)
    held = first.val + first.test
    lines = path.read_text(encoding="utf-8").splitlines()
    index = read_anki(path).index(held[0])  # every line is good: pair index = line index
    lines[index] = "Ωmega " + "z" * 30 + "\tΨ" + "q" * 40
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    splits = scan_anki(StreamSource(path), 3, 2, seed=0)
    assert splits.train.profile == TrainProfile.of(list(splits.train))
    assert "Ω" not in splits.train.profile.source_chars
    assert splits.train.profile.longest_target < 40


def test_bad_lines_max_length_and_num_samples_are_those_of_the_reader(tmp_path, caplog):
    path = _write(tmp_path / "pairs.txt", 30, extra="no tab here\n" + "a\t" + "b" * 300 + "\n")
    with caplog.at_level(logging.WARNING):
        splits = _stream(path, max_length=256)
    assert sum("skipped 1 bad line" in r.message for r in caplog.records) == 1
    assert len(splits.train) + 9 == 30
    assert len(_stream(path, num_samples=20).train) == 11


def test_streaming_needs_counts_and_enough_pairs(tmp_path):
    path = _write(tmp_path / "pairs.txt", 9)
    with pytest.raises(Seq2SeqError, match=r"needs data\.val_size and data\.test_size"):
        _stream(path, val_size=None)
    with pytest.raises(Seq2SeqError, match="leave none for training"):
        _stream(path)
    with pytest.raises(Seq2SeqError, match="not found"):
        _stream(tmp_path / "missing.txt")
    with pytest.raises(Seq2SeqError, match="data=tsv has"):
        load_task("dates", num_samples=10, streaming=True)


@pytest.mark.parametrize("bucket_width", [None, 3])
def test_a_streamed_epoch_holds_every_training_pair_once(tmp_path, bucket_width):
    splits = _stream(_write(tmp_path / "pairs.txt", 80))
    source = Vocabulary.build(splits.train.profile.source_chars)
    target = Vocabulary.build(splits.train.profile.target_chars)
    ds = make_dataset(splits.train, source, target, 8, shuffle=True, seed=0,
                      bucket_width=bucket_width, bucket_by="longer")  # fmt: skip
    for _ in range(2):
        seen = []
        for inputs, _ in ds:
            for row in inputs["source"].numpy():
                seen.append(source.decode([i for i in row if i]))
        assert sorted(seen) == sorted(s for s, _ in splits.train)


def test_a_streamed_file_deleted_during_training_is_one_error(tmp_path, monkeypatch):
    from seq2seq.tasks.train import train
    from tests.conftest import train_config

    path = _write(tmp_path / "pairs.txt", 300)
    cfg = train_config(
        tmp_path / "run", "data=anki", f"data.path={path}", "data.num_samples=null",
        "data.streaming=true", "data.val_size=20", "data.test_size=20", "trainer.epochs=3",
        "trainer.val_decoding.every=0",
    )  # fmt: skip

    class Delete(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            path.unlink(missing_ok=True)

    import seq2seq.training.loop as training

    original = training.training_callbacks
    monkeypatch.setattr(
        training, "training_callbacks", lambda *a, **k: [Delete(), *original(*a, **k)]
    )
    with pytest.raises(
        Seq2SeqError,
        match=r"reading the training pairs failed: the streamed"
        r" pairs file .* changed after training scanned it .*cannot be read",
    ):
        train(cfg)


def _streamed_config(tmp_path, path, *overrides):
    from tests.conftest import train_config

    return train_config(
        tmp_path / "run", "data=anki", f"data.path={path}", "data.num_samples=null",
        "data.streaming=true", "data.val_size=20", "data.test_size=20",
        "trainer.val_decoding.every=0", "trainer.early_stopping=null", *overrides,
    )  # fmt: skip


def _after_epoch(monkeypatch, action):
    import seq2seq.training.loop as training

    class Act(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                action()

    original = training.training_callbacks
    monkeypatch.setattr(training, "training_callbacks", lambda *a, **k: [*original(*a, **k), Act()])


def test_a_streamed_file_emptied_during_training_stops_it_and_a_resume_finishes(
    tmp_path, monkeypatch
):
    import json

    from seq2seq.rundir import RunDir
    from seq2seq.tasks.train import train

    path = _write(tmp_path / "pairs.txt", 300)
    content = path.read_bytes()
    _after_epoch(monkeypatch, lambda: path.write_bytes(b""))
    with pytest.raises(Seq2SeqError, match=r"changed after training scanned it .*size went"):
        train(_streamed_config(tmp_path, path, "trainer.epochs=3"))
    run = RunDir(tmp_path / "run")
    assert [c.epoch for c in run.checkpoints()] == [0]  # nothing from the empty pass
    assert not run.model_file.exists() and not run.metrics_file.exists()
    monkeypatch.undo()
    path.write_bytes(content)
    train(_streamed_config(tmp_path, path, "trainer.epochs=3", "trainer.resume=true"))
    assert json.loads(run.metrics_file.read_text())["train/epochs"] == 3


def test_a_streamed_file_changed_in_place_is_named_at_the_end_of_its_pass(tmp_path, monkeypatch):
    import os

    from seq2seq.tasks.train import train

    path = _write(tmp_path / "pairs.txt", 300)

    def swap_two_characters():  # same size, same modification time: only the CRC sees it
        stat = path.stat()
        path.write_bytes(path.read_bytes().replace(b"w10 ", b"w99 ", 1))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    _after_epoch(monkeypatch, swap_two_characters)
    with pytest.raises(Seq2SeqError, match=r"changed after training scanned it .*pairs differ"):
        train(_streamed_config(tmp_path, path, "trainer.epochs=2"))


def test_evaluate_names_a_streamed_file_changed_since_training(tmp_path):
    from seq2seq.evaluation import run_test_pairs
    from seq2seq.tasks.train import train

    path = _write(tmp_path / "pairs.txt", 300)
    train(_streamed_config(tmp_path, path, "trainer.epochs=1"))
    assert len(run_test_pairs(tmp_path / "run")) == 20
    path.write_text(path.read_text(encoding="utf-8").replace("w10 ", "w99 ", 1), encoding="utf-8")
    with pytest.raises(Seq2SeqError, match="changed after training scanned it"):
        run_test_pairs(tmp_path / "run")
