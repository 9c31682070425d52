"""The project installs as a tool: a wheel, installed into a fresh virtual environment
outside the checkout, runs every command from an empty directory with its packaged configs,
and its stderr holds only the project's own lines (no TensorFlow start-up lines)."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e  # a wheel in a fresh venv, and TensorFlow's start-up at the fd

TINY = [
    "data.num_samples=300",
    "model.units=8",
    "model.embedding_dim=4",
    "trainer.epochs=1",
    "trainer.batch_size=32",
    "trainer.precision=float32",
    "seed=0",
]
# Our log lines ([time][logger][LEVEL] ... in training, [LEVEL] ... in the other commands) and
# one-line errors; anything else is noise.
# A user's environment: no TF_CPP_MIN_LOG_LEVEL (conftest sets one for the test process).
USER_ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
OWN_LINE = re.compile(r"^\[[^]]+\]\[seq2seq[.\w]*\]\[[A-Z]+\] |^\[(INFO|WARNING|ERROR)\] |^error: ")


def _dependency_dirs() -> list[str]:
    """The directories this interpreter imports installed packages from, whether it is the
    system's interpreter or itself a virtual environment's (where ``--system-site-packages``
    would point past them, at the base interpreter's, which lacks the dependencies)."""
    return [
        path for path in sys.path
        if Path(path).name in ("site-packages", "dist-packages") and Path(path).is_dir()
    ]  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``bin/`` of a new venv holding only the wheel; the dependencies are the ones this
    interpreter has (no download): its package directories are appended to the venv's path
    by a ``.pth`` file, after the venv's own, so the wheel's ``seq2seq`` is the one imported
    (the directories' own ``.pth`` files, such as an editable install's, are not run)."""
    base = tmp_path_factory.mktemp("install")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(base / "wheel"), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = (base / "wheel").glob("seq2seq_keras-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for config in ROOT.glob("configs/**/*.yaml"):
        assert f"seq2seq/configs/{config.relative_to(ROOT / 'configs')}" in names, config
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=300)
    (site,) = (base / "venv" / "lib").glob("python*/site-packages")
    (site / "zz_dependencies.pth").write_text("\n".join(_dependency_dirs()) + "\n")
    subprocess.run(
        [str(base / "venv" / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return base / "venv" / "bin"


def _run(bin_dir: Path, command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(bin_dir / command), *args], capture_output=True, text=True, timeout=600, cwd=cwd,
        env=USER_ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    noise = [line for line in result.stderr.split("\n") if line and not OWN_LINE.match(line)]
    assert noise == [], noise[:5]
    return result


def test_the_installed_commands_train_translate_evaluate_and_export(installed, tmp_path):
    where = subprocess.run(
        [str(installed / "python"), "-c", "import seq2seq; print(seq2seq.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert where.startswith(str(installed.parent)), where  # the wheel's copy, not the checkout
    _run(installed, "s2s-train", *TINY, "hydra.run.dir=run", cwd=tmp_path)
    assert (tmp_path / "run" / "model.keras").is_file()
    assert "\x1b[" not in (tmp_path / "run" / "train.log").read_text(encoding="utf-8")
    out = _run(
        installed, "s2s-translate", "run_dir=run", "inputs=['Nov 28, 2026','1999-01-02']",
        cwd=tmp_path,
    ).stdout  # fmt: skip
    assert len(out.split("\n")) == 3 and out.endswith("\n")
    _run(installed, "s2s-evaluate", "run_dir=run", "output_dir=eval", cwd=tmp_path)
    assert (tmp_path / "eval" / "metrics.json").is_file()
    _run(installed, "s2s-export", "run_dir=run", "export_dir=exported", cwd=tmp_path)
    assert (tmp_path / "exported" / "saved_model.pb").is_file()
    compared = _run(installed, "s2s-compare", "run", cwd=tmp_path).stdout
    assert compared.startswith("| run | model |")


def test_an_installed_command_with_a_bad_override_is_one_line(installed, tmp_path):
    result = subprocess.run(
        [str(installed / "s2s-translate"), "run_dir=missing", "inputs=['x']"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=USER_ENV,
    )  # fmt: skip
    assert result.returncode == 2
    assert [line for line in result.stderr.split("\n") if line] == [
        line for line in result.stderr.split("\n") if line and OWN_LINE.match(line)
    ]
    assert "error: " in result.stderr and "Traceback" not in result.stderr


def test_tensorflow_start_up_lines_are_kept_back_unless_asked_for(tmp_path):
    code = (
        "import sys; from seq2seq.cli import quiet_tensorflow; "
        "print('before', file=sys.stderr); quiet_tensorflow(); print('after', file=sys.stderr)"
    )
    quiet = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=USER_ENV,
    )  # fmt: skip
    assert quiet.stderr == "before\nafter\n"
    env = {"SEQ2SEQ_VERBOSE": "1", "PATH": "/usr/bin:/bin"}
    loud = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=env,
    )  # fmt: skip
    assert loud.stderr.startswith("before\n") and loud.stderr.endswith("after\n")
