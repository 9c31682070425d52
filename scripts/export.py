"""Export a run as a string-in/string-out SavedModel.

Usage: python scripts/export.py run_dir=outputs/train/<run> export_dir=exported/dates
"""

import hydra
from omegaconf import DictConfig

from seq2seq.cli import quiet_tensorflow, register_configs, run_task

quiet_tensorflow()
register_configs()


@hydra.main(version_base="1.3", config_path="../configs", config_name="export")
def main(cfg: DictConfig) -> None:
    """Writes the SavedModel (vocabulary and greedy decode loop in the graph)."""
    from seq2seq.export import export

    run_task(export, cfg)


if __name__ == "__main__":
    main()
