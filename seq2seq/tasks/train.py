"""``s2s-train``: train a model as configured and fill the run directory."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from seq2seq import training
from seq2seq.settings import TrainSettings


def train(cfg: DictConfig) -> float | None:
    """Hydra task: parses the composed training config once, then trains.

    Args:
        cfg: the composed training config (``data``, ``model``, ``trainer``, ``decoding``,
            ``paths``, ``seed``, ``optimized_metric``).

    Returns:
        The value of ``cfg.optimized_metric`` from ``metrics.json`` (for sweepers), or None.
    """
    return training.train(TrainSettings.from_config(cfg), launch_record(cfg))


def launch_record(cfg: DictConfig) -> dict[str, str]:
    """Hydra's record of this launch (``.hydra/`` files), written only once the run
    directory is ours: Hydra's own writing is off (``hydra.output_subdir: null``), so a
    refused launch leaves a finished run's record as it was."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    hydra_cfg = HydraConfig.get()
    return {
        "config.yaml": OmegaConf.to_yaml(cfg),
        "overrides.yaml": OmegaConf.to_yaml(list(hydra_cfg.overrides.task)),
        "hydra.yaml": OmegaConf.to_yaml({"hydra": hydra_cfg}),
    }
