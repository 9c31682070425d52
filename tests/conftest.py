"""Shared fixtures: composing configs and a tiny trained run directory."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from seq2seq.cli import register_configs
from tests.cli_runner import CommandResult, run_command

register_configs()  # the search rules' decoding defaults, as the scripts register them

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

# Small enough to train in seconds on a CPU.
TINY = [
    "data.num_samples=400",
    "model.units=16",
    "model.embedding_dim=8",
    "trainer.epochs=2",
    "trainer.batch_size=32",
    "trainer.progress_bar=false",
    "trainer.precision=float32",  # not auto: no start-up micro-benchmark per tiny run
    "seed=0",
]


def _missing(what: str, install: str) -> None:
    """A test that needs something outside the project (a program, an optional extra) that
    is not here: skipped with the install command as its reason on a developer's machine,
    failed under CI (``CI=true``, which ``.ci/run`` sets), so CI never silently loses it."""
    reason = f"needs {what}: {install}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must have it)", pytrace=False)
    pytest.skip(reason)


def needs_program(name: str, install: str) -> str:
    """The path of the outside program ``name`` (see :func:`_missing` when it is absent)."""
    found = shutil.which(name)
    if found is None:
        _missing(f"the program {name}", install)
    return found


def needs_module(name: str, install: str) -> Any:
    """The module ``name`` of an optional extra (see :func:`_missing` when it is absent)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"the module {name}", install)


def compose_config(name: str, overrides: list[str]) -> DictConfig:
    """Composes ``configs/<name>.yaml`` with overrides, as the scripts would."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIGS)):
        return compose(config_name=name, overrides=overrides)


def train_config(output_dir: Path, *overrides: str) -> DictConfig:
    """A tiny training config writing into ``output_dir``."""
    return compose_config("train", [*TINY, f"paths.output_dir={output_dir}", *overrides])


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A run directory produced by a tiny end-to-end training on the dates task."""
    from seq2seq.tasks.train import train

    run_dir = tmp_path_factory.mktemp("run")
    train(train_config(run_dir))
    return run_dir


#: Training without the callbacks that watch validation (no early stop, no learning-rate
#: change, no decoded validation): what the resume and run-guard tests build on. All three
#: may change when a run is resumed, so a test may resume a copied run with its own.
QUIET = ["trainer.early_stopping=null", "trainer.reduce_lr=null", "trainer.val_decoding.every=0"]


class RunTemplates:
    """Finished tiny runs (``TINY`` + ``QUIET``, 1, 2 or 3 epochs), each trained once per
    session on first use; :meth:`copy` gives a test its own copy to change."""

    def __init__(self, root: Path) -> None:
        self.root, self._runs = root, {}

    def finished(self, epochs: int) -> Path:
        """The template run of ``epochs`` epochs (do not change it: copy it)."""
        if epochs not in self._runs:
            from seq2seq.tasks.train import train

            run = self.root / f"quiet-{epochs}"
            train(train_config(run, f"trainer.epochs={epochs}", *QUIET))
            self._runs[epochs] = run
        return self._runs[epochs]

    def copy(self, epochs: int, to: Path) -> Path:
        """A copy of the ``epochs``-epoch template at ``to`` (a new directory)."""
        return Path(shutil.copytree(self.finished(epochs), to, symlinks=True))


@pytest.fixture(scope="session")
def run_templates(tmp_path_factory) -> RunTemplates:
    """Finished tiny runs to copy instead of training again (see :class:`RunTemplates`)."""
    return RunTemplates(tmp_path_factory.mktemp("templates"))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items) -> None:
    """The e2e tests run on one xdist worker, one after the other: they start servers,
    send signals at chosen moments and time real processes, which a test running beside
    them on the other core would disturb."""
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture
def cli():
    """``cli("translate", "run_dir=...", stdin=..., cwd=...)``: runs a console command in
    this process (see :mod:`tests.cli_runner`) and returns its exit status and output. Use
    it wherever a test checks a command's message, output or exit status; a real process
    (``subprocess``) is for what only a process shows, and such a test is marked ``e2e``."""
    return run_command


__all__ = ["CommandResult"]
