"""Claiming a run directory: refusing another run's, the lock, and the resume policy
(what a relaunch may change, when a finished run may be continued)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from seq2seq.distribute import Distribution
from seq2seq.errors import Seq2SeqError
from seq2seq.options.trainer import RESUMABLE, resume_conflicts
from seq2seq.rundir import RUN_TAKEN, Checkpoint, RunDir
from seq2seq.settings import TrainSettings

log = logging.getLogger(__name__)


def start_together(
    run: RunDir, settings: TrainSettings, dist: Distribution, held: contextlib.ExitStack
) -> Checkpoint | None:
    """Guards ``run`` and takes its lock (kept by ``held`` until training ends); with several
    workers, all of them learn whether every one may start, so that a refusal on one (a
    finished run directory, a lock in use, ...) stops all instead of leaving the others
    waiting for it at their first collective operation."""
    try:
        logs = log_files_in(run.path)  # e.g. Hydra's train.log, opened before the task
        run.refuse_foreign(logs)  # before the lock: a refused launch changes nothing
        refuse_finished(run, settings)
        held.enter_context(run.lock())  # held until metrics.json is written
        run.refuse_foreign(logs)  # again, now that no other launch can be writing it
        checkpoint = guard_run_dir(run, settings)
        run.mark()
    except Seq2SeqError:
        dist.any_worker(True)
        raise
    if dist.any_worker(False):
        raise Seq2SeqError(
            "another worker refused to start this training (see its log); nothing was trained"
        )
    return checkpoint


def _log_handlers_in(directory: Path) -> list[logging.Handler]:
    """The root logger's file handlers whose file is in ``directory``."""
    return [h for h in logging.getLogger().handlers
            if getattr(h, "baseFilename", None)
            and Path(h.baseFilename).resolve().parent == directory.resolve()]  # fmt: skip


def log_files_in(directory: Path) -> tuple[str, ...]:
    """The names of the log files this process writes in ``directory``."""
    return tuple(Path(h.baseFilename).name for h in _log_handlers_in(directory))


def leave_log_files_in(directory: Path) -> None:
    """Closes this process's log files in ``directory`` (Hydra opened ``<run_dir>/train.log``
    for every worker; only the chief's lines belong there)."""
    for handler in _log_handlers_in(directory):
        logging.getLogger().removeHandler(handler)
        handler.close()


def guard_run_dir(run: RunDir, settings: TrainSettings) -> Checkpoint | None:
    """Refuses a run directory that holds another run (called under its lock); returns the
    checkpoint to resume, if any.

    A finished run is touched only to continue it for more epochs (its ``metrics.json`` is
    then removed by :func:`commit_launch`, once every check has passed). An unfinished one needs
    ``trainer.resume=true``: with a checkpoint it resumes, unless the settings differ from
    the run's in a way that changes the model, the data or the optimizer; without one
    (killed during its first epoch) it starts over.
    """
    refuse_finished(run, settings)
    continuing = run.is_finished()
    existing = run.artifacts()
    if not settings.trainer.resume:
        if existing:
            raise Seq2SeqError(
                f"run directory {run.path} holds an unfinished run ({', '.join(existing)});"
                " continue it with trainer.resume=true, or choose another hydra.run.dir"
            )
        return None
    checkpoint = run.latest_checkpoint()
    if checkpoint is None:
        if existing:
            log.warning("%s has no complete checkpoint yet: starting the run over", run.path)
            run.clear_partial()
        else:
            log.info("trainer.resume=true but %s holds no run: starting from scratch", run.path)
        return None
    conflicts = resume_conflicts(run.read_config(), settings.resolved)
    if conflicts:
        raise Seq2SeqError(
            f"cannot resume {run.path} with different settings: {'; '.join(conflicts)}"
            " (resuming may change only: " + ", ".join(RESUMABLE) + ")"
        )
    if continuing:  # metrics.json goes once every check has passed (commit_launch)
        log.info("continuing the finished run %s: epochs %d to %d%s", run.path,
                 checkpoint.epoch + 2, settings.trainer.epochs,
                 f" or {settings.trainer.max_minutes:g} minutes of training"
                 if settings.trainer.max_minutes else "")  # fmt: skip
    return checkpoint


def commit_launch(run: RunDir, settings: TrainSettings, launch: dict[str, str] | None) -> None:
    """The launch's first changes to what the run directory held, made once every check has
    passed: a continued finished run loses its ``metrics.json`` (it is unfinished until the
    new epochs are scored), ``config.yaml`` takes this launch's settings, and the launch
    record (Hydra's ``.hydra/``) is kept when there is one (not on a worker's scratch)."""
    log.info("training into %s", run.path, extra={RUN_TAKEN: True})
    if run.is_finished():
        run.metrics_file.unlink()
    run.write_config(settings.resolved)
    if launch is not None:
        run.write_record(launch)


def wants_more(checkpoint: Checkpoint, settings: TrainSettings) -> bool:
    """Whether a resume asks for more training than it had been asked for when it ended:
    more epochs (``trainer.resume=true trainer.epochs=<more>`` continues a finished run), or,
    with epochs left, a larger time budget (``trainer.max_minutes=<more>``)."""
    trainer = settings.trainer
    if not trainer.resume:
        return False
    budget, before = trainer.max_minutes, checkpoint.target_minutes
    more_minutes = bool(budget and before and budget > before)
    return trainer.epochs > checkpoint.epochs_asked or (
        more_minutes and checkpoint.epoch + 1 < trainer.epochs
    )


def refuse_finished(run: RunDir, settings: TrainSettings) -> None:
    """A finished run is trained into again only to continue it for more epochs."""
    if not run.is_finished():
        return
    latest = run.latest_checkpoint()
    if latest is not None and wants_more(latest, settings):
        return
    raise Seq2SeqError(
        f"run directory {run.path} holds a finished run (metrics.json); continue it with"
        " trainer.resume=true and a larger trainer.epochs (or trainer.max_minutes, when its"
        " budget stopped it), or choose another hydra.run.dir"
    )
