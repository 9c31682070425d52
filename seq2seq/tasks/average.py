"""``s2s-average``: the mean of a run's last N checkpoints (or of chosen epochs) as a new
run directory that translate, evaluate and export take like any other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from seq2seq.averaging import chosen_checkpoints, write_averaged
from seq2seq.checks import positive
from seq2seq.destinations import refuse_run_owned_dir
from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RunDir
from seq2seq.tasks.common import config_values, optional_path, required_path

USAGE = "s2s-average run_dir=<run> [last=N | epochs=[3,4]] [output_dir=<dir>]"


@dataclass(frozen=True)
class AverageSettings:
    """The ``average`` config, parsed once.

    Attributes:
        run_dir: the trained run whose checkpoints are averaged.
        last: average the newest N checkpoints (when ``epochs`` is not given).
        epochs: the 1-based epochs whose checkpoints are averaged (None: the ``last`` N).
        output_dir: the new run directory (default ``<run_dir>/average``).
    """

    run_dir: str
    last: int
    epochs: tuple[int, ...] | None
    output_dir: str

    @classmethod
    def from_config(cls, cfg: DictConfig) -> AverageSettings:
        """Parses and checks a composed ``average`` config."""
        values = config_values(cfg)
        run_dir = required_path(values, "run_dir", USAGE)
        epochs = values.get("epochs")
        if epochs is not None and not isinstance(epochs, list):
            raise Seq2SeqError(f"epochs must be a list such as [3,4], got {epochs!r}")
        return cls(
            run_dir=run_dir,
            last=positive("last", values.get("last", 2), at_most=1000),
            epochs=None if not epochs else tuple(positive("epochs", e) for e in epochs),
            output_dir=optional_path(values, "output_dir") or str(Path(run_dir) / "average"),
        )


def average(cfg: DictConfig) -> Path:
    """Hydra task: writes the averaged model as a new run directory; returns it."""
    settings = AverageSettings.from_config(cfg)
    refuse_run_owned_dir(settings.output_dir, "output_dir")
    run = RunDir(Path(settings.run_dir))
    if not run.path.is_dir():
        raise Seq2SeqError(f"run directory not found: {run.path}")
    checkpoints = chosen_checkpoints(run, settings.last, settings.epochs)
    return write_averaged(run, checkpoints, settings.output_dir)
