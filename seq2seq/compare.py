"""Side-by-side comparison of finished training runs (for the quality table in docs/benchmarks.md).

``python scripts/compare_runs.py outputs/train/a outputs/train/b ...`` prints one Markdown
row per run: test chrF, BLEU, exact match, epochs, training minutes and training pairs/s
(epochs x training pairs / training seconds, so it includes validation time). A resumed
run's ``train/seconds`` counts every process that trained it; ``?`` where it is 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RunDir

COLUMNS = ("run", "model", "test chrF", "test BLEU", "exact match", "epochs", "minutes", "pairs/s")


def _model_summary(model: dict) -> str:
    keys = ("name", "units", "encoder_layers", "decoder_layers", "bidirectional", "attention")

    def shown(value) -> bool:  # leave out defaults: None, false, 1 (but not true)
        return not (value is None or value is False or (type(value) is int and value == 1))

    parts = [f"{k}={model[k]}" for k in keys if shown(model.get(k))]
    if model.get("input_feeding"):
        parts.append("input_feeding")
    return ", ".join(parts)


def run_row(run_dir: str | Path) -> list[str]:
    """One table row for a finished run directory."""
    run = RunDir(Path(run_dir))
    if not run.is_finished():
        raise Seq2SeqError(f"{run.path} has no metrics.json (did training finish?)")
    metrics = json.loads(run.metrics_file.read_text(encoding="utf-8"))
    config = run.read_config()
    train_pairs = _train_pairs(run)
    seconds = float(metrics["train/seconds"])
    epochs = int(metrics["train/epochs"])
    return [
        run.path.name,
        _model_summary(config.get("model", {})),
        f"{metrics['test/chrf']:.1f}",
        f"{metrics['test/bleu']:.1f}",
        f"{metrics['test/exact_match']:.3f}",
        str(epochs),
        f"{seconds / 60:.1f}" if seconds > 0 else "?",
        f"{epochs * train_pairs / seconds:,.0f}" if train_pairs and seconds > 0 else "?",
    ]


def _train_pairs(run: RunDir) -> int:
    """Training pairs of the run, from its log line ``pairs per split: {...}``."""
    for log_file in run.path.glob("*.log"):
        for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
            if "pairs per split:" in line:
                return int(line.split("'train': ")[1].split(",")[0])
    return 0


def main(argv: Sequence[str]) -> int:
    """Prints the Markdown table for the run directories in ``argv``."""
    if not argv:
        raise Seq2SeqError("usage: compare_runs.py <run_dir> [<run_dir> ...]")
    rows = [COLUMNS, ["---"] * len(COLUMNS), *(run_row(d) for d in argv)]
    sys.stdout.write("".join("| " + " | ".join(row) + " |\n" for row in rows))
    return 0
