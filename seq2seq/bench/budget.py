"""Quality against the time budget: the same experiment trained for budgets of, by default,
5, 10 and 20 minutes, once with its learning-rate schedule over the budget's minutes (it
anneals at the deadline) and once over a fixed number of epochs that the budget only cuts
short (the schedule as experiments were written before), each run scored on the test split
with greedy and beam search; a table and a PNG of chrF against the budget.

Every training runs alone, in a child process (``s2s-train``, then ``s2s-evaluate
decoding=beam``), into ``work_dir/<schedule>-<budget>min``; a run that already finished
there is read, not retrained, so an interrupted benchmark continues where it stopped. An
epoch-schedule run whose epochs all ended before its budget is also the run of every larger
budget (it would train the same epochs): it is trained once and reported for each. Run with
``python scripts/benchmark.py budget data_path=../shared/data/fra-eng/fra.txt``.
"""

from __future__ import annotations

import json
import logging
import math
import shlex
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seq2seq.bench.memory import TRAIN_COMMAND
from seq2seq.bench.startup import cpu_model
from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RunDir

log = logging.getLogger(__name__)
EVALUATE_COMMAND = [TRAIN_COMMAND[0], "-c", "from seq2seq.commands import evaluate; evaluate()"]
SCHEDULES = ("minutes", "epochs")
BEAM_DIR = "beam"  # under each run: s2s-evaluate decoding=beam's output


@dataclass(frozen=True)
class BudgetRun:
    """One row of the table: a schedule at a budget, and what its run scored."""

    schedule: str
    budget_minutes: float
    run_dir: str
    train_minutes: float
    epochs: int
    chrf_greedy: float
    chrf_beam: float
    bleu_beam: float
    exact_match_beam: float
    same_run_as: float | None = None  # the smaller budget whose run this is


def run_name(schedule: str, budget: float) -> str:
    """The run directory's name under ``work_dir``: ``minutes-10min``, ``epochs-2.5min``."""
    return f"{schedule}-{budget:g}min"


def train_overrides(schedule: str, budget: float, epochs: int, run_dir: Path) -> list[str]:
    """``s2s-train``'s schedule overrides: the decay over the budget, or over ``epochs``
    (the budget then only stops). Early stopping is off in both: the budget ends the run."""
    common = [f"trainer.max_minutes={budget:g}", "trainer.early_stopping=null",
              "trainer.progress_bar=false", f"hydra.run.dir={run_dir}"]  # fmt: skip
    if schedule == "epochs":
        return [*common, "trainer.schedule_over=epochs", f"trainer.epochs={epochs}"]
    return [*common, "trainer.schedule_over=minutes"]


def _child(command: list[str], log_file: Path, what: str) -> None:
    """Runs ``command``, its output into ``log_file``; a failure names the log's last lines."""
    with log_file.open("ab") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-3:]
        raise Seq2SeqError(f"{what} failed (exit {done.returncode}): {' | '.join(tail)}")


def train_and_score(command: list[str], run_dir: Path) -> None:
    """Trains into ``run_dir`` (unless it holds a finished run) and scores it with beam
    search (unless it already was)."""
    log_file = run_dir.parent / f"{run_dir.name}.log"
    if not RunDir(run_dir).is_finished():
        if run_dir.exists():  # killed mid-training: resume it (the clock counts every part)
            command = [*command, "trainer.resume=true"]
        _child(command, log_file, f"training {run_dir}")
    beam = run_dir / BEAM_DIR
    if not (beam / "metrics.json").is_file():
        evaluate = [*EVALUATE_COMMAND, f"run_dir={run_dir}", "decoding=beam",
                    f"output_dir={beam}"]  # fmt: skip
        _child(evaluate, log_file, f"evaluating {run_dir}")


def read_row(schedule: str, budget: float, run_dir: Path) -> BudgetRun:
    """The table row of a trained and scored run."""
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    beam = json.loads((run_dir / BEAM_DIR / "metrics.json").read_text(encoding="utf-8"))
    return BudgetRun(
        schedule=schedule,
        budget_minutes=budget,
        run_dir=str(run_dir),
        train_minutes=round(float(metrics["train/seconds"]) / 60, 2),
        epochs=int(metrics["train/epochs"]),
        chrf_greedy=round(float(metrics["test/chrf"]), 2),
        chrf_beam=round(float(beam["chrf"]), 2),
        bleu_beam=round(float(beam["bleu"]), 2),
        exact_match_beam=round(float(beam["exact_match"]), 4),
    )


def ended_before_budget(row: BudgetRun, epochs: int) -> bool:
    """Whether an epoch-schedule run trained all its epochs before its budget ran out."""
    return row.epochs >= epochs and row.train_minutes < row.budget_minutes


def budget_figure(rows: list[BudgetRun], cpu: str):
    """chrF (beam) against the budget, one line per schedule."""
    from seq2seq.plots import plt  # matplotlib's Agg backend, set up there

    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for schedule, label in (("minutes", "schedule over the minutes"),
                            ("epochs", "schedule over epochs, cut by the budget")):  # fmt: skip
        mine = sorted((r for r in rows if r.schedule == schedule), key=lambda r: r.budget_minutes)
        if mine:
            ax.plot([r.budget_minutes for r in mine], [r.chrf_beam for r in mine], marker="o",
                    label=label)  # fmt: skip
    ax.set_xlabel("training budget (minutes)")
    ax.set_ylabel("test chrF, beam 5")
    ax.set_title(cpu, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run_budget_benchmark(
    data_path: str,
    budgets: tuple[float, ...] = (5.0, 10.0, 20.0),
    schedules: tuple[str, ...] = SCHEDULES,
    epochs: int = 8,
    experiment: str = "fra_eng",
    work_dir: str = "runs/budget",
    overrides: str = "",
) -> dict[str, Any]:
    """Trains and scores ``experiment`` per schedule and budget (see the module doc); the
    report holds the table's rows and the PNG's path (``work_dir/budget.png``).
    ``overrides``: more ``s2s-train`` overrides for every run, separated by spaces."""
    if not Path(data_path).is_file():
        raise Seq2SeqError(f"data file not found: {data_path}")
    if not budgets or not all(0 < b < math.inf for b in budgets):
        raise Seq2SeqError(f"budgets must be positive minutes, got {list(budgets)}")
    unknown = [s for s in schedules if s not in SCHEDULES]
    if unknown:
        raise Seq2SeqError(f"unknown schedule {unknown[0]!r}; choose from {list(SCHEDULES)}")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    base = [*TRAIN_COMMAND, f"experiment={experiment}", f"data.path={Path(data_path).resolve()}",
            *shlex.split(overrides)]  # fmt: skip
    rows: list[BudgetRun] = []
    for schedule in schedules:
        done: BudgetRun | None = None  # an epoch run that ended before its budget
        for budget in sorted(budgets):
            if done is not None:
                log.info("%s at %g min: the run of %g min (its epochs ended first)", schedule,
                         budget, done.budget_minutes)  # fmt: skip
                rows.append(BudgetRun(**{**asdict(done), "budget_minutes": budget,
                                         "same_run_as": done.budget_minutes}))  # fmt: skip
                continue
            run_dir = work / run_name(schedule, budget)
            log.info("%s schedule, %g min: training into %s", schedule, budget, run_dir)
            start = time.perf_counter()
            train_and_score([*base, *train_overrides(schedule, budget, epochs, run_dir)], run_dir)
            row = read_row(schedule, budget, run_dir)
            log.info("%s at %g min: chrF %.1f greedy, %.1f beam (%.0f s)", schedule, budget,
                     row.chrf_greedy, row.chrf_beam, time.perf_counter() - start)  # fmt: skip
            rows.append(row)
            if schedule == "epochs" and ended_before_budget(row, epochs):
                done = row
    cpu = cpu_model()
    from seq2seq.plots import save_png

    png = save_png(budget_figure(rows, cpu), work / "budget.png")
    return {"cpu": cpu, "date": time.strftime("%Y-%m-%d"), "experiment": experiment,
            "epochs_of_the_epoch_schedule": epochs, "runs": [asdict(r) for r in rows],
            "overrides": overrides, "plot": str(png)}  # fmt: skip
