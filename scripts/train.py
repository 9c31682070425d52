"""Train a seq2seq model: python scripts/train.py [data=anki data.path=...] [model.units=...]."""

import hydra
from omegaconf import DictConfig

from seq2seq.cli import quiet_tensorflow, register_configs, run_task

quiet_tensorflow()
register_configs()


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Trains as configured; returns cfg.optimized_metric for Hydra sweepers."""
    from seq2seq.training import train

    return run_task(train, cfg)


if __name__ == "__main__":
    main()
