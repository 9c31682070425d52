"""Target tokens per second of finished training runs: the tokens a run's target vocabulary
makes of its training split (END included, per epoch), times its epochs, over its training
seconds (validation included, as s2s-compare's pairs/s). The peers' unit for training speed.

    python scripts/target_tokens_per_second.py runs/a runs/b
"""

import json
import sys

from omegaconf import OmegaConf

from seq2seq.rundir import RunDir
from seq2seq.settings import TrainSettings
from seq2seq.training.vocabularies import load_data
from seq2seq.vocab.store import read_run_vocab


def main(paths: list[str]) -> None:
    print("| run | target tokens per epoch | epochs | seconds | target tokens/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for path in paths:
        run = RunDir(path)
        settings = TrainSettings.from_config(OmegaConf.create(run.read_config()))
        splits = load_data(settings)
        _, target, _ = read_run_vocab(run)
        tokens = sum(len(target.encode(t)) + 1 for _, t in splits.train)
        metrics = json.loads(run.metrics_file.read_text(encoding="utf-8"))
        epochs, seconds = metrics["train/epochs"], metrics["train/seconds"]
        print(
            f"| {path} | {tokens:,} | {epochs} | {seconds:.0f} | {tokens * epochs / seconds:,.0f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
