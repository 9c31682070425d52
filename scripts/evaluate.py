"""Score a run: python scripts/evaluate.py run_dir=<run> output_dir=<dir> [pairs_file=FILE].

Writes metrics.json (sacrebleu chrF and BLEU, exact match, CER) and translations.tsv to
output_dir and prints the metrics.
"""

import hydra
from omegaconf import DictConfig

from seq2seq.cli import quiet_tensorflow, register_configs, run_task

quiet_tensorflow()
register_configs()


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Translates the pairs' sources, scores them against the references, writes files."""
    from seq2seq.evaluation import evaluate

    run_task(evaluate, cfg)


if __name__ == "__main__":
    main()
