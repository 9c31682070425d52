"""Late I/O failures and damaged inputs: one ``error:`` line, exit status 2, nothing lost."""

import errno
import json
import shutil
from pathlib import Path

import pytest

from seq2seq.cli import run_task
from seq2seq.errors import Seq2SeqError
from seq2seq.export import export_run
from seq2seq.rundir import RunDir
from seq2seq.settings import TrainSettings
from seq2seq.tasks.evaluate import evaluate
from seq2seq.tasks.train import train
from seq2seq.tasks.translate import translate
from seq2seq.translation import Translator
from tests.conftest import compose_config, train_config

QUIET = ["trainer.early_stopping=null", "trainer.reduce_lr=null", "trainer.val_decoding.every=0"]


def _one_error_line(capsys, task, cfg) -> str:
    """Runs ``task`` as the scripts do; returns its single stderr line (status 2 asserted)."""
    with pytest.raises(SystemExit) as exited:
        run_task(task, cfg)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    "override, message",
    [
        ("trainer.clipnorm=-1", "trainer.clipnorm must be a positive number"),
        ("trainer.keep_checkpoints=0", "trainer.keep_checkpoints must be a positive integer"),
        ("trainer.keep_checkpoints=-3", "trainer.keep_checkpoints must be a positive integer"),
        ("trainer.reduce_lr.min_lr=-1", "trainer.reduce_lr.min_lr must be 0 or a positive"),
        ("trainer.val_decoding.every=-1", "trainer.val_decoding.every must be 0 or a positive"),
        ("trainer.val_decoding.num_images=1.5", "num_images must be 0 or a positive integer"),
        ("trainer.early_stopping.monitor=val_bleu", "monitor='val_bleu' is unknown"),
        ("trainer.reduce_lr.monitor=nope", "monitor='nope' is unknown"),
        ("decoding.n_best=0", "decoding.n_best must be a positive integer"),
        ("decoding=sample decoding.temperature=inf", "decoding.temperature must be a positive"),
        ("decoding=sample decoding.temperature=nan", "decoding.temperature must be a positive"),
        ("decoding=beam decoding.length_penalty=inf", "length_penalty must be 0 or a positive"),
        ("decoding=beam decoding.beam_size=abc", "decoding.beam_size must be a positive integer"),
        ("seed=abc", "seed must be an integer from 0"),
        ("trainer.learning_rate=nan", "trainer.learning_rate must be a positive number"),
        ("trainer.max_minutes=inf", "trainer.max_minutes must be a positive number"),
        ("trainer.resume=maybe", "trainer.resume must be true or false"),
        ("trainer.bucket_by=both", "trainer.bucket_by='both' is unknown"),
        ("trainer.batch_tokens=500 trainer.bucket_width=null", "batch_tokens needs trainer"),
        ("trainer.batch_tokens=0", "trainer.batch_tokens must be a positive integer"),
        ("trainer.lr_schedule=cosine", "add trainer.reduce_lr=null"),
        ("data=anki data.val_size=0", "data.val_size must be a positive integer"),
        (
            "trainer.early_stopping.monitor=val_chrf trainer.val_decoding.every=0",
            "needs trainer.val_decoding.every > 0",
        ),
    ],
)
def test_bad_training_values_are_refused_before_any_work(tmp_path, override, message):
    with pytest.raises(Seq2SeqError, match=message.replace(".", r"\.").replace("(", r"\(")):
        TrainSettings.from_config(train_config(tmp_path, *override.split()))


def test_a_full_disk_during_training_is_one_line_and_resumable(tmp_path, capsys, monkeypatch):
    calls = []
    original = RunDir.write_checkpoint

    def fill_up(self, model, epoch, keep, seconds=0.0):
        calls.append(epoch)
        if epoch == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.checkpoint_dir))
        return original(self, model, epoch, keep, seconds)

    monkeypatch.setattr(RunDir, "write_checkpoint", fill_up)
    line = _one_error_line(capsys, train, train_config(tmp_path, "trainer.epochs=3", *QUIET))
    assert line == f"error: No space left on device: {tmp_path / 'checkpoints'}"
    monkeypatch.setattr(RunDir, "write_checkpoint", original)
    train(train_config(tmp_path, "trainer.epochs=3", "trainer.resume=true", *QUIET))
    assert [r["epoch"] for r in RunDir(tmp_path).read_history()] == ["0", "1", "2"]


def test_a_run_directory_that_is_a_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    line = _one_error_line(capsys, train, train_config(path, *QUIET))
    assert line == f"error: run directory {path} exists and is not a directory"
    assert path.read_text() == "x"


def test_a_non_integer_length_in_vocab_json_is_one_line(trained_run, tmp_path, capsys):
    bad = tmp_path / "run"
    shutil.copytree(trained_run, bad)
    payload = json.loads((bad / "vocab.json").read_text())
    for value in ("abc", 2.5, -1, True, None):
        payload["max_source_length"] = value
        (bad / "vocab.json").write_text(json.dumps(payload))
        with pytest.raises(Seq2SeqError, match=r"malformed vocabulary file .*max_source_length"):
            Translator.from_run_dir(bad)


@pytest.mark.parametrize(
    "text", ["data: [unclosed", "- a list\n", "data: 5\n", "data: {name: nope}\n", ""]
)
def test_a_malformed_config_yaml_in_evaluate_is_one_line(trained_run, tmp_path, capsys, text):
    bad = tmp_path / "run"
    shutil.copytree(trained_run, bad)
    (bad / "config.yaml").write_text(text)
    cfg = compose_config("evaluate", [f"run_dir={bad}", f"output_dir={tmp_path / 'out'}"])
    assert str(bad / "config.yaml") in _one_error_line(capsys, evaluate, cfg)


def test_evaluate_refuses_unwritable_outputs_before_decoding(trained_run, tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep\n")
    for out, message in [
        (a_file, f"output_dir {a_file} exists and is not a directory"),
        (trained_run, "is a run directory: its metrics.json would be replaced"),
        ("/proc/seq2seq-new", "cannot create output_dir /proc/seq2seq-new"),
    ]:
        cfg = compose_config("evaluate", [f"run_dir={trained_run}", f"output_dir={out}"])
        assert message in _one_error_line(capsys, evaluate, cfg)
    assert a_file.read_text() == "keep\n"
    assert json.loads((trained_run / "metrics.json").read_text())["train/epochs"] >= 1


def test_export_refuses_a_file_and_an_uncreatable_place(trained_run, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep\n")
    with pytest.raises(Seq2SeqError, match="exists and is not a directory"):
        export_run(trained_run, a_file)
    with pytest.raises(Seq2SeqError, match=r"cannot write export_dir's parent /proc"):
        export_run(trained_run, "/proc/seq2seq-export")
    assert a_file.read_text() == "keep\n"


def test_translate_output_that_cannot_be_written_is_refused_first(trained_run, tmp_path, capsys):
    for out, message in [
        (tmp_path, f"output_file {tmp_path} is a directory"),
        (tmp_path / "no" / "x.txt", f"directory not found: {tmp_path / 'no'}"),
        ("/proc/version", "no file can be created in /proc"),
    ]:
        cfg = compose_config(
            "translate", [f"run_dir={trained_run}", "inputs=[x]", f"output_file={out}"]
        )
        assert message in _one_error_line(capsys, translate, cfg)
    cfg = compose_config(
        "translate", [f"run_dir={trained_run}", "inputs=[x]", "output_file=/dev/full"]
    )
    assert (
        _one_error_line(capsys, translate, cfg)
        == "error: cannot write /dev/full: No space left on device"
    )


def test_no_temporary_files_are_left_after_a_failed_write(trained_run, tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "out"
    cfg = compose_config("evaluate", [f"run_dir={trained_run}", f"output_dir={out}"])
    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(Seq2SeqError, match="No space left on device"):
        evaluate(cfg)
    assert [p.name for p in out.iterdir()] == []
