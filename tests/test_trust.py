"""The run directory as a trust boundary, and every user-caused failure as one line.

A directory that is not this project's run is never written into or deleted from; the log
and the lock are never opened through a link; no output overwrites an input or a run's own
files; Hydra's own failures (bad overrides, a run directory it cannot create) and misspelt
added keys are one ``error:`` line with exit status 2."""

import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RUN_MARKER
from seq2seq.tasks.evaluate import evaluate
from seq2seq.tasks.train import train
from seq2seq.tasks.translate import translate
from tests.cli_runner import CommandResult, run_command
from tests.conftest import QUIET as TEMPLATE_QUIET
from tests.conftest import TINY, compose_config, train_config


def _train_script(*overrides: str, cwd) -> CommandResult:
    return run_command("train", *TINY, *overrides, cwd=cwd)


def _one_line(result: CommandResult) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.split("\n") if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return errors[0]


def test_a_directory_that_is_not_a_run_is_never_written_or_emptied(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my own settings\n")
    (mine / "model.keras").write_bytes(b"my model")
    (mine / "notes").mkdir()
    before = sorted(p.name for p in mine.iterdir())
    for resume in ("false", "true"):
        with pytest.raises(Seq2SeqError, match="not empty and holds no seq2seq run"):
            train(train_config(mine, f"trainer.resume={resume}"))
    assert sorted(p.name for p in mine.iterdir()) == before
    assert (mine / "config.yaml").read_text() == "my own settings\n"
    assert (mine / "model.keras").read_bytes() == b"my model"


def test_a_new_or_empty_directory_is_claimed_with_the_run_marker(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    train(train_config(empty, "trainer.epochs=1"))
    assert (empty / RUN_MARKER).is_file() and (empty / "metrics.json").is_file()


def test_an_experiment_with_its_own_task_name_trains_into_a_new_directory(tmp_path):
    """Hydra's log is ``train.log`` whatever the task name (``experiment=fra_eng`` sets
    ``task_name: fra_eng``): a log named after the task made the new run directory look
    foreign before training claimed it."""
    result = _train_script("task_name=fra_eng", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "train.log").is_file()
    assert not (tmp_path / "run" / "fra_eng.log").exists()


def test_a_run_log_that_is_a_link_is_refused_and_its_target_kept(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("DATA\n")
    (run / "train.log").symlink_to(victim)
    line = _one_line(_train_script(f"hydra.run.dir={run}", cwd=tmp_path))
    assert "train.log" in line and "symbolic link" in line
    assert victim.read_text() == "DATA\n"
    assert sorted(p.name for p in run.iterdir()) == ["train.log"]


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["hydra.run.dir=a_file"], "cannot use a_file"),
        (["hydra.run.dir=/proc/nope/run"], "cannot use /proc/nope: No such file"),
        (["trainer=[1,2]"], "could not be composed"),
        (["model=nosuch"], "Could not find 'model/nosuch'"),
        (["+trainer.epoch=5"], "+trainer.epoch is not a setting of this command (did you mean"
                               " trainer.epochs?)"),
        (["+data.numsamples=5"], "did you mean data.num_samples?"),
        (["+foo=1"], "+foo is not a setting"),
        (["++foo=1"], "++foo is not a setting"),
        (["++trainer.epoch=5"], "++trainer.epoch is not a setting of this command (did you mean"
                                " trainer.epochs?)"),
        (["++trainer.epochs=-2"], "trainer.epochs must be a positive integer, got -2"),
        (["vocab=sentencepiece", "vocab.size=3"], "vocab.size must be more than 4, got 3"),
        (["seed=-1"], "seed must be an integer from 0 to 4294967295"),
        (["seed=8589934592"], "seed must be an integer from 0"),
        (["model.units=100000"], "model.units must be at most 8192"),
    ],
)  # fmt: skip
def test_user_caused_failures_are_one_line_with_exit_status_2(tmp_path, overrides, expected):
    (tmp_path / "a_file").write_text("x")
    if not any(o.startswith("hydra.run.dir") for o in overrides):
        overrides = [*overrides, f"hydra.run.dir={tmp_path / 'run'}"]
    assert expected in _one_line(_train_script(*overrides, cwd=tmp_path))


def test_outputs_never_overwrite_a_runs_files_or_an_input(trained_run, tmp_path):
    protected = {p: p.read_bytes() for p in trained_run.iterdir() if p.is_file()}
    link = tmp_path / "metrics_link.json"
    link.symlink_to(trained_run / "metrics.json")
    dotted = trained_run / "eval" / ".." / "vocab.json"
    checkpoint = next((trained_run / "checkpoints").iterdir()) / "state.json"
    for out in (trained_run / "vocab.json", link, dotted, checkpoint, trained_run / ".lock"):
        cfg = compose_config("translate", [f"run_dir={trained_run}", "inputs=[x]",
                                           f"output_file={out}"])  # fmt: skip
        with pytest.raises(Seq2SeqError, match="is a file of the run directory"):
            translate(cfg)
    assert {p: p.read_bytes() for p in protected} == protected

    pairs = tmp_path / "own" / "translations.tsv"
    pairs.parent.mkdir()
    pairs.write_text("Nov 28, 2026\t2026-11-28\n")
    cfg = compose_config("evaluate", [f"run_dir={trained_run}", f"pairs_file={pairs}",
                                      f"output_dir={pairs.parent}"])  # fmt: skip
    with pytest.raises(Seq2SeqError, match="is the input file"):
        evaluate(cfg)
    assert pairs.read_text() == "Nov 28, 2026\t2026-11-28\n"


QUIET = ["trainer.reduce_lr=null", "trainer.val_decoding.every=0"]
# val_loss falls every epoch, so mode=max sees no improvement after the first: epoch 2 stops.
STOPS_AFTER_TWO = [
    "trainer.epochs=5", "trainer.early_stopping.monitor=val_loss",
    "trainer.early_stopping.mode=max", "trainer.early_stopping.patience=1",
]  # fmt: skip


def test_early_stopping_survives_a_kill_before_the_final_evaluation(tmp_path):
    import json

    train(train_config(tmp_path, *STOPS_AFTER_TWO, *QUIET))
    first = json.loads((tmp_path / "metrics.json").read_text())
    assert first["train/epochs"] == 2
    state = json.loads((tmp_path / "checkpoints" / "epoch-0002" / "state.json").read_text())
    assert state["ended"] is True and state["best_epoch"] == 0
    (tmp_path / "metrics.json").unlink()  # killed during the final evaluation
    (tmp_path / "model.keras").unlink()
    train(train_config(tmp_path, *STOPS_AFTER_TWO, *QUIET, "trainer.resume=true"))
    again = json.loads((tmp_path / "metrics.json").read_text())
    assert again["train/epochs"] == 2  # no epoch 3, 4, ...
    assert again["val/loss"] == pytest.approx(first["val/loss"], abs=1e-6)  # the same model


def test_resume_refuses_a_checkpoint_that_config_yaml_no_longer_describes(tmp_path, run_templates):
    run = run_templates.copy(1, tmp_path / "run")
    (run / "metrics.json").unlink()
    (run / "model.keras").unlink()
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("units: 16", "units: 32"))
    with pytest.raises(Seq2SeqError, match="its model does not match the run's settings"):
        train(train_config(run, "trainer.epochs=2", "model.units=32", "trainer.resume=true",
                           *TEMPLATE_QUIET))  # fmt: skip


@pytest.mark.parametrize(
    "tf_config, expected",
    [
        ({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}},
         "task index 3 is outside the worker list"),
        ({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}},
         "task types must be chief or worker"),
        ({"cluster": {"worker": ["localhost:notaport"]}, "task": {"type": "worker", "index": 0}},
         "is not host:port"),
        ({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": "0"}},
         "task index must be an integer"),
        ({"cluster": {"worker": ["localhost:1"]}}, "KeyError"),
    ],
)  # fmt: skip
def test_a_bad_tf_config_is_one_line(monkeypatch, tf_config, expected):
    import json

    from seq2seq.distribute import cluster_resolver

    monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    with pytest.raises(Seq2SeqError, match=expected) as caught:
        cluster_resolver()
    assert "\n" not in str(caught.value)


def test_a_finished_run_continues_for_more_epochs_and_only_then(tmp_path, run_templates):
    import json

    from seq2seq.rundir import RunDir

    run = run_templates.copy(1, tmp_path / "run")
    metrics = (run / "metrics.json").read_bytes()
    for refused in (["trainer.epochs=1"], ["trainer.epochs=2", "model.units=32"]):
        with pytest.raises(Seq2SeqError, match=r"finished run|different settings"):
            train(train_config(run, "trainer.resume=true", *refused, *TEMPLATE_QUIET))
        assert (run / "metrics.json").read_bytes() == metrics  # a refusal changes nothing
    train(train_config(run, "trainer.resume=true", "trainer.epochs=3", *TEMPLATE_QUIET))
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 3
    assert [r["epoch"] for r in RunDir(run).read_history()] == ["0", "1", "2"]
    latest = RunDir(run).latest_checkpoint()
    assert latest.ended and latest.epoch == 2 and latest.target_epochs == 3


def test_init_from_fine_tunes_a_trained_run_on_new_data(trained_run, tmp_path, caplog):
    import json
    import logging

    pairs = tmp_path / "new.tsv"
    pairs.write_text("".join(f"le {d} mai 1999 ☃\t1999-05-{d:02d}\n" for d in range(1, 29)) * 4,
                     encoding="utf-8")  # fmt: skip
    overrides = ["data=tsv", f"data.path={pairs}", f"trainer.init_from={trained_run}",
                 "trainer.epochs=1", *QUIET]  # fmt: skip
    with caplog.at_level(logging.INFO):
        train(train_config(tmp_path / "tuned", *overrides))
    assert "starting from the weights of" in caplog.text
    assert "1 source character(s) of the new data are not in the vocabulary" in caplog.text
    assert "'☃' (90)" in caplog.text  # its count in the 90 training pairs (of 112)
    vocab = json.loads((tmp_path / "tuned" / "vocab.json").read_text(encoding="utf-8"))
    original = json.loads((trained_run / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["source"] == original["source"] and vocab["target"] == original["target"]

    with pytest.raises(Seq2SeqError, match=r"has model\.units=16, this run 32"):
        train(train_config(tmp_path / "wider", *overrides, "model.units=32"))
    with pytest.raises(Seq2SeqError, match="run directory not found"):
        train(train_config(tmp_path / "none", *overrides[:2], f"trainer.init_from={tmp_path}/x",
                           *QUIET))  # fmt: skip
    with pytest.raises(Seq2SeqError, match="has vocab=char, this run vocab=sentencepiece"):
        train(train_config(tmp_path / "subwords", *overrides, "vocab=sentencepiece"))
    assert not (tmp_path / "subwords" / "config.yaml").exists()  # no false config.yaml


WRITERS = {
    "export": lambda run, out: ["export", f"run_dir={run}", f"export_dir={out}"],
    "average": lambda run, out: ["average", f"run_dir={run}", f"output_dir={out}"],
    "evaluate": lambda run, out: ["evaluate", f"run_dir={run}", f"output_dir={out}"],
    "inspect": lambda run, out: ["inspect", f"run_dir={run}", "input=x", f"output_dir={out}"],
    "translate": lambda run, out: ["translate", f"run_dir={run}", "inputs=[x]",
                                   f"output_file={out}/out.txt"],
}  # fmt: skip


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_no_writer_lands_inside_a_runs_own_folders(writer, tmp_path, cli, run_templates):
    """Every command's destination is refused inside a run's managed folders (which a
    resume prunes or rewrites), however the path is written; nothing is created there."""
    run = run_templates.copy(1, tmp_path / "run")
    (tmp_path / "link").symlink_to(run / "checkpoints")
    epoch = next((run / "checkpoints").iterdir()).name
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    for out in (
        run / "checkpoints" / epoch / "exported",  # the reported case
        run / "checkpoints",
        run / "tensorboard" / "mine",
        tmp_path / "elsewhere" / ".." / "run" / "checkpoints" / "x",
        tmp_path / "link" / "x",
        "run/.hydra/x",  # relative to the working directory
    ):
        result = cli(*WRITERS[writer](run, out), cwd=tmp_path)
        assert result.returncode == 2, (out, result.stderr[-2000:])
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "Traceback" not in result.stderr, (out, result.stderr)
        assert "run directory" in errors[0] and str(run) in errors[0], errors[0]
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == before
