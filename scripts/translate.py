"""Translate with a trained run.

Usage: python scripts/translate.py run_dir=outputs/train/<run> inputs='["Nov 28, 2026"]'
"""

import hydra
from omegaconf import DictConfig

from seq2seq.cli import quiet_tensorflow, register_configs, run_task

quiet_tensorflow()
register_configs()


@hydra.main(version_base="1.3", config_path="../configs", config_name="translate")
def main(cfg: DictConfig) -> None:
    """Translates inputs, list or file or stdin; translations to stdout or output_file."""
    from seq2seq.translation import translate

    run_task(translate, cfg)


if __name__ == "__main__":
    main()
