"""Memory of streamed training: peak RSS of the same short training on corpora of two sizes.

For each size, a synthetic pairs file of that many lines (the given Anki file's lines
repeated) is written to a scratch directory, and ``s2s-train`` trains on it with
``data.streaming=true data.num_samples=null`` and a fixed number of steps, in a child
process whose peak resident memory is read from the kernel (``wait4``). Flat memory means
the peak does not grow with the file. Run with
``python scripts/benchmark.py memory data_path=../shared/data/fra-eng/fra.txt``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from seq2seq.errors import Seq2SeqError

log = logging.getLogger(__name__)
# `s2s-train` in the child (the installed command, or this package from a checkout).
TRAIN_COMMAND = [sys.executable, "-c", "from seq2seq.commands import train; train()"]
DEFAULT_LINES = (500_000, 5_000_000)


def write_synthetic(source: Path, lines: int, out: Path) -> int:
    """Writes ``lines`` lines of ``source``, repeated from the start as often as needed;
    returns the file's size in bytes."""
    block = [line for line in source.read_bytes().split(b"\n") if line.strip()]
    if not block:
        raise Seq2SeqError(f"{source} holds no lines")
    with out.open("wb") as f:
        written = 0
        while written < lines:
            chunk = block[: lines - written]
            f.write(b"\n".join(chunk) + b"\n")
            written += len(chunk)
    return out.stat().st_size


def train_overrides(pairs_file: Path, run_dir: Path, steps: int) -> list[str]:
    """The training command's overrides: streamed, all lines, one epoch of ``steps`` batches."""
    return [
        "data=anki",
        f"data.path={pairs_file}",
        "data.streaming=true",
        "data.num_samples=null",
        "data.val_size=1000",
        "data.test_size=1000",
        f"trainer.steps_per_epoch={steps}",
        "trainer.epochs=1",
        "trainer.progress_bar=false",
        f"hydra.run.dir={run_dir}",
    ]


def measure(pairs_file: Path, run_dir: Path, steps: int) -> dict[str, Any]:
    """Trains on ``pairs_file`` in a child process; its wall time and peak RSS."""
    command = [*TRAIN_COMMAND, *train_overrides(pairs_file, run_dir, steps)]
    log_file = run_dir.parent / f"{run_dir.name}.log"
    start = time.perf_counter()
    with log_file.open("wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
        raise Seq2SeqError(f"training on {pairs_file} failed: {' | '.join(tail)}")
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def run_memory_benchmark(
    data_path: str | Path,
    lines: tuple[int, ...] = DEFAULT_LINES,
    steps: int = 200,
    work_dir: str | None = None,
) -> dict[str, Any]:
    """Peak RSS of streamed training per corpus size (see the module doc)."""
    source = Path(data_path)
    if not source.is_file():
        raise Seq2SeqError(f"data file not found: {source}")
    results: dict[str, Any] = {"steps": steps, "runs": {}}
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="seq2seq-memory-") as scratch:
        for count in lines:
            pairs_file = Path(scratch) / f"pairs_{count}.txt"
            size = write_synthetic(source, count, pairs_file)
            log.info("training on %s lines (%.0f MB), %d steps", f"{count:,}", size / 2**20, steps)
            run = measure(pairs_file, Path(scratch) / f"run_{count}", steps)
            log.info("%s lines: peak RSS %.0f MB in %.0f s", f"{count:,}", run["peak_rss_mb"],
                     run["seconds"])  # fmt: skip
            results["runs"][str(count)] = {"file_mb": round(size / 2**20, 1), **run}
            pairs_file.unlink()
    peaks = [r["peak_rss_mb"] for r in results["runs"].values()]
    results["peak_rss_ratio_largest_to_smallest"] = round(peaks[-1] / peaks[0], 3)
    return results
