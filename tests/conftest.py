"""Shared fixtures: composing configs and a tiny trained run directory."""

from __future__ import annotations

import os
from pathlib import Path

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
    "seed=0",
]


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


@pytest.fixture
def cli():
    """``cli("translate", "run_dir=...", stdin=..., cwd=...)``: runs a console command in
    this process (see :mod:`tests.cli_runner`) and returns its exit status and output. Use
    it wherever a test checks a command's message, output or exit status; a real process
    (``subprocess``) is for what only a process shows, and such a test is marked ``e2e``."""
    return run_command


__all__ = ["CommandResult"]
