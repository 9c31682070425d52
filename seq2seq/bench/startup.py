"""``s2s-benchmark startup``: how long a command takes to answer what it answers before its
task starts (``--help``, ``--cfg job``, a refused override), each in a fresh interpreter, as
a user's shell runs it."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

#: What is timed: a name, the command, its arguments and the exit status it must give.
CASES = (
    ("s2s-train --help", "train", ["--help"], 0),
    ("s2s-translate --help", "translate", ["--help"], 0),
    ("s2s-train --cfg job", "train", ["--cfg", "job"], 0),
    ("s2s-translate run_dir=x trainer.epoch=1", "translate", ["run_dir=x", "trainer.epoch=1"], 2),
    ("s2s-train model=nope", "train", ["model=nope"], 2),
)
#: Runs the console command ``sys.argv[1]`` with the arguments after it, as its entry point does.
_ENTRY = (
    "import sys\n"
    "from seq2seq import commands\n"
    "name = sys.argv[1]\n"
    "sys.argv = [f's2s-{name}', *sys.argv[2:]]\n"
    "sys.exit(getattr(commands, name)())\n"
)


def cpu_model() -> str:
    """The CPU's model name (Linux's ``/proc/cpuinfo``), or what ``platform`` knows."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_startup_benchmark(repeats: int = 5) -> dict[str, Any]:
    """Wall seconds of each case over ``repeats`` fresh processes (median, min, max).

    Raises:
        RuntimeError: a case gave another exit status than it must.
    """
    rows = {}
    for name, command, args, status in CASES:
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _ENTRY, command, *args], capture_output=True, check=False
            )
            seconds.append(time.perf_counter() - started)
            if done.returncode != status:
                raise RuntimeError(f"{name}: exit {done.returncode}, expected {status}")
        rows[name] = {
            "median_s": round(statistics.median(seconds), 3),
            "min_s": round(min(seconds), 3),
            "max_s": round(max(seconds), 3),
        }
    return {"cpu": cpu_model(), "repeats": repeats, "python": sys.version.split()[0],
            "commands": rows}  # fmt: skip
