"""The first hour of a newcomer: every usual mistake gets the right advice in one line (exit
2), progress shows wherever the output goes, and TensorFlow's C++ lines never reach stderr."""

import io
import os
import re
import subprocess
import sys

import pytest
import tomllib

from seq2seq.advice import plugin_advice
from seq2seq.callbacks import TrainingProgress
from seq2seq.extras import EXTRA_OF_HYDRA_OPTION, EXTRA_OF_MODULE
from tests.conftest import QUIET, ROOT, TINY


def _one_error_line(result) -> str:
    """The ``error:`` line of a refused command, after checking it is the only thing said."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("command", "args", "advice"),
    [
        ("train", ["trainer.epoch=1"], "trainer.epoch is not a setting of this command (did you"
                                       " mean trainer.epochs?)"),
        ("train", ["traner.epochs=1"], "(did you mean trainer.epochs?)"),
        ("train", ["decodng=beam"], "(did you mean decoding?)"),
        ("translate", ["run_dir=x", "decoding=beam", "decoding.beam=3"],
         "(did you mean decoding.beam_size?)"),
        ("evaluate", ["run_dir=x", "ouput_dir=y"], "(did you mean output_dir?)"),
    ],
)  # fmt: skip
def test_a_misspelt_setting_gets_the_nearest_one_not_hydras_plus(cli, command, args, advice):
    error = _one_error_line(cli(command, *args))
    assert advice in error and "+" not in error.split("(")[0]
    assert "To append" not in error


@pytest.mark.parametrize(
    ("command", "args", "advice"),
    [
        ("translate", ["runs/dates"], "'runs/dates' is not a setting: settings are key=value,"
                                      " and a path is a value, e.g. run_dir=runs/dates"),
        ("serve", ["runs/dates"], "e.g. run_dir=runs/dates"),
        ("train", ["runs/mine"], "e.g. hydra.run.dir=runs/mine"),
        ("train", ["trainer.epochs"], "trainer.epochs needs a value: trainer.epochs=<value>"),
    ],
)  # fmt: skip
def test_a_word_without_equals_gets_the_form_to_write(cli, command, args, advice):
    assert advice in _one_error_line(cli(command, *args))


@pytest.mark.parametrize(
    ("key", "value", "quoted"),
    [
        ("inputs", "[Nov 28, 2026]", "\"inputs=['Nov 28, 2026']\""),
        ("inputs", "1.50", "\"inputs='1.5'\""),
        ("inputs", "[true, a]", "\"inputs=['true, a']\""),
        ("input", "2026", "\"input='2026'\""),
    ],
)  # fmt: skip
def test_inputs_that_hydra_did_not_read_as_texts_are_refused_with_the_quoting(
    cli, trained_run, key, value, quoted
):
    """``inputs=['Nov 28, 2026']`` unquoted for the shell reaches Hydra as ``[Nov 28, 2026]``:
    the text ``Nov 28`` and the number 2026. Translating them would print two wrong answers."""
    command = "translate" if key == "inputs" else "inspect"
    result = cli(command, f"run_dir={trained_run}", f"{key}={value}")
    error = _one_error_line(result)
    assert "not a text" in error and quoted in error
    assert result.stdout == ""


def test_quoted_inputs_are_translated(cli, trained_run):
    result = cli("translate", f"run_dir={trained_run}", "inputs=['Nov 28, 2026', '1.50']")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize(
    ("module", "command", "args", "advice"),
    [
        ("uvicorn", "serve", ["run_dir={run}", "port=0"],
         "s2s-serve needs the optional extra 'serve' (uvicorn is not installed)"),
        ("sentencepiece", "train", [*TINY, *QUIET, "vocab=sentencepiece",
                                    "hydra.run.dir={tmp}/run"],
         "vocab=sentencepiece needs the optional extra 'subword'"),
        ("datasets", "train", [*TINY, *QUIET, "data=hf", "data.path={tmp}/x.jsonl",
                               "hydra.run.dir={tmp}/run"],
         "data=hf needs the optional extra 'hf'"),
    ],
)  # fmt: skip
def test_a_missing_extra_is_named_with_how_to_install_it(
    cli, monkeypatch, trained_run, tmp_path, module, command, args, advice
):
    (tmp_path / "x.jsonl").write_text('{"source": "a", "target": "b"}\n')
    monkeypatch.setitem(sys.modules, module, None)  # what an import sees when it is missing
    args = [a.format(run=trained_run, tmp=tmp_path) for a in args]
    error = _one_error_line(cli(command, *args))
    assert advice in error and 'pip install -e ".[' in error


def test_a_sweep_plugin_that_is_not_installed_names_its_extra():
    message = ("In 'hydra/config': Could not find 'hydra/launcher/joblib'\n"
               "Available options in 'hydra/launcher':\n\tbasic")  # fmt: skip
    assert plugin_advice(message) == (
        "hydra/launcher=joblib needs the optional extra 'sweep' (its Hydra plugin):"
        ' pip install -e ".[sweep]" in the checkout'
    )
    assert plugin_advice("Could not find 'hydra/launcher/mine'") is None


def test_every_extra_named_is_one_the_project_declares():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = {*EXTRA_OF_MODULE.values(), *(e for o in EXTRA_OF_HYDRA_OPTION.values()
                                          for e in o.values())}  # fmt: skip
    assert named <= set(declared)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_off_a_terminal_is_a_log_line_every_n_seconds(monkeypatch, caplog):
    clock = _Clock()
    monkeypatch.setattr("seq2seq.callbacks.time.monotonic", clock)
    progress = TrainingProgress(6, 64, every_seconds=30, at_terminal=False)
    progress.set_params({"steps": 100})
    progress.on_epoch_begin(1)
    with caplog.at_level("INFO", logger="seq2seq.callbacks"):
        for step in range(100):
            clock.now += 1.0
            progress.on_train_batch_end(step, {"loss": 0.5})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # at 30, 60 and 90 seconds
    assert lines[0] == "epoch 2/6: step 30/100 (30%), 64 pairs/s, loss 0.5000, 1:10 left"


def test_progress_at_a_terminal_is_one_line_cleared_before_the_epochs_log_line(monkeypatch):
    clock, stream = _Clock(), io.StringIO()
    monkeypatch.setattr("seq2seq.callbacks.time.monotonic", clock)
    progress = TrainingProgress(1, None, every_seconds=30, at_terminal=True, stream=stream)
    progress.set_params({"steps": None})  # a streamed epoch: no total, no time left
    progress.on_epoch_begin(0)
    for step in range(4):
        clock.now += 0.5
        progress.on_train_batch_end(step, {"loss": 1.0})
    progress.on_test_begin()
    progress.on_epoch_end(0)
    assert "\n" not in stream.getvalue()
    assert stream.getvalue().startswith("\repoch 1/1: step 1, 2.0 steps/s, loss 1.0000\x1b[K")
    assert stream.getvalue().endswith("\repoch 1/1: validating\x1b[K\r\x1b[K")


#: A line of TensorFlow's C++ logging (absl/glog: ``E0000 00:00:... 123 file.cc:45] ...``) or
#: the notes it prints around start-up.
CPP_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|rebuild TensorFlow|oneDNN|cuInit")


@pytest.mark.e2e  # TensorFlow's C++ lines reach the file descriptor, not sys.stderr
def test_no_tensorflow_cpp_line_reaches_stderr_while_training_or_translating(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "SEQ2SEQ_"))}
    run = tmp_path / "run"
    commands = [
        ["train.py", *TINY, *QUIET, "trainer.epochs=1", f"hydra.run.dir={run}"],
        ["translate.py", f"run_dir={run}", "inputs=['Nov 28, 2026', '04.07.1950']",
         "decoding=beam"],
        ["evaluate.py", f"run_dir={run}"],
    ]  # fmt: skip
    for script, *args in commands:
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / script), *args],
            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        leaked = [line for line in result.stderr.splitlines() if CPP_LINE.search(line)]
        assert leaked == [], f"{script}: {leaked}"


@pytest.mark.e2e  # the log goes to the real stderr of a process whose output is redirected
def test_a_redirected_training_prints_progress_lines(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train.py"), *TINY, *QUIET,
         "data.num_samples=3000", "trainer.epochs=1", "trainer.progress_seconds=0.5",
         f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    progress = re.findall(r"epoch 1/1: step \d+/\d+ \(\d+%\), [\d,]+ pairs/s", result.stderr)
    assert progress, result.stderr[-2000:]
    assert "\r" not in result.stderr


@pytest.mark.e2e  # the line is written by C++ to the process's file descriptor 2
@pytest.mark.parametrize("user_level", [None, "0", "2"])
def test_cpp_lines_logged_while_ops_run_are_kept_back_whatever_the_environment(user_level):
    """tf.data logs a C++ warning at op time for ``cache().take()``, the same way oneDNN logs
    its "Falling back" E-line on CPUs without AVX-512: after :func:`quiet_tensorflow`, neither
    reaches stderr, even where the user's shell sets ``TF_CPP_MIN_LOG_LEVEL``."""
    code = (
        "from seq2seq.cli import quiet_tensorflow; quiet_tensorflow(); import tensorflow as tf\n"
        "for _ in tf.data.Dataset.range(10).cache().take(2): pass\n"
        "import sys; print('done', file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "SEQ2SEQ_"))}
    env.update({"TF_CPP_MIN_LOG_LEVEL": user_level} if user_level else {})
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=300, env=env)  # fmt: skip
    assert quiet.stderr == "done\n"
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**env, "SEQ2SEQ_VERBOSE": "1"})  # fmt: skip
    assert "cache_dataset_ops" in loud.stderr or user_level == "2"  # the line exists


def test_a_long_translation_off_a_terminal_logs_its_progress(monkeypatch, caplog):
    from seq2seq.progress import Progress

    clock = _Clock()
    monkeypatch.setattr("seq2seq.progress.time.monotonic", clock)
    progress = Progress(1000, every_seconds=30)
    with caplog.at_level("INFO", logger="seq2seq.progress"):
        for done in range(100, 1001, 100):
            clock.now += 20.0
            progress.update(done)
    assert [r.getMessage() for r in caplog.records] == [
        "translated 200/1,000 inputs (20%), 5 inputs/s, 2:40 left",
        "translated 400/1,000 inputs (40%), 5 inputs/s, 2:00 left",
        "translated 600/1,000 inputs (60%), 5 inputs/s, 1:20 left",
        "translated 800/1,000 inputs (80%), 5 inputs/s, 0:40 left",
    ]
