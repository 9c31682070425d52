"""Glue for the thin ``scripts/*.py`` entry points: one-line errors instead of tracebacks."""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from seq2seq.advice import override_advice, plugin_advice, refuse_added_keys
from seq2seq.errors import Seq2SeqError
from seq2seq.extras import missing_extra_message
from seq2seq.rundir import RUN_TAKEN

T = TypeVar("T")
log = logging.getLogger("seq2seq")


#: Set by :func:`hydra_raises`: ``HYDRA_FULL_ERROR`` is then ours, not the user's.
HYDRA_RAISES = "SEQ2SEQ_HYDRA_RAISES"


def debug_enabled() -> bool:
    """True when full tracebacks were asked for (``HYDRA_FULL_ERROR=1`` or ``SEQ2SEQ_DEBUG=1``)."""
    names = ["SEQ2SEQ_DEBUG"]
    if not os.environ.get(HYDRA_RAISES):
        names.append("HYDRA_FULL_ERROR")
    return any(os.environ.get(v, "") not in ("", "0") for v in names)


def hydra_raises() -> None:
    """Makes Hydra raise its own errors (a bad override, an unknown config, a run directory
    it cannot create) instead of printing a traceback, so that :func:`report_hydra_error`
    can say them in one line. A user's ``HYDRA_FULL_ERROR=1`` keeps Hydra's tracebacks."""
    if not debug_enabled():
        os.environ["HYDRA_FULL_ERROR"] = "1"
        os.environ[HYDRA_RAISES] = "1"


def report_hydra_error(
    exc: BaseException, task_started: bool, config_name: str | None = None
) -> NoReturn:
    """One ``error:`` line (exit 2) for a failure outside the task: before the task starts,
    everything Hydra does (parse the overrides, compose the config, create the run directory
    and its log) works on what the user gave. An error escaping a started task is a bug and
    keeps its traceback."""
    from hydra.errors import HydraException

    known = (HydraException, OmegaConfBaseException, OSError, Seq2SeqError)
    if debug_enabled() or (task_started and not isinstance(exc, known)):
        raise exc
    if isinstance(exc, BrokenPipeError):  # e.g. ``--help | head -3``
        _quiet_broken_pipe()
    if isinstance(exc, OSError) and exc.strerror:
        _fail(f"cannot use {exc.filename or 'the run directory'}: {exc.strerror}")
    advice = override_advice(str(exc), config_name) or plugin_advice(str(exc))
    if advice:
        _fail(advice)
    lines = [line.strip() for line in str(exc).split("\n") if line.strip()]
    lines = lines[: next((i for i, x in enumerate(lines) if x.startswith("Config search")), None)]
    cause = exc.__cause__
    if isinstance(cause, OmegaConfBaseException) and str(cause).strip():
        lines.append(str(cause).strip().split("\n")[0])
    if not isinstance(exc, known):
        lines = [
            "the overrides could not be composed into a config",
            f"({type(exc).__name__}:",
            *lines,
        ]
        lines[-1] += ")"
    _fail(" ".join(lines)[:1000] or type(exc).__name__)


def run_task(task: Callable[[DictConfig], T], cfg: DictConfig) -> T:
    """Runs ``task(cfg)``; a user mistake, or a file-system failure such as a full disk,
    prints one ``error: ...`` line to stderr and exits with 2."""
    try:
        refuse_log_problems()
        refuse_added_keys(cfg)
        return task(cfg)
    except (Seq2SeqError, OmegaConfBaseException) as exc:
        if debug_enabled():
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(message)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except ModuleNotFoundError as exc:  # e.g. s2s-serve without the serve extra
        advice = missing_extra_message(exc.name, _command_name())
        if debug_enabled() or advice is None:
            raise
        _fail(advice)
    except OSError as exc:  # e.g. ENOSPC while a checkpoint is written
        if debug_enabled():
            raise
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:
        # TensorFlow's resource errors (memory, a full disk while exporting) are not OSError.
        if debug_enabled() or type(exc).__name__ != "ResourceExhaustedError":
            raise
        first = str(getattr(exc, "message", "") or exc).strip().split("\n")[0]
        _fail(f"TensorFlow ran out of a resource (memory or disk space): {first[:300]}")


class RunLogHandler(logging.FileHandler):
    """The run directory's ``train.log`` (Hydra's ``file`` handler): never opened through a
    symbolic link or onto something that is not a plain file (a link planted as
    ``train.log`` would have the log appended to its target). A log that cannot be written
    does not fail inside Hydra's logging set-up: it is kept as :attr:`problem`, which
    :func:`run_task` reports as one line before the task starts.

    Nothing is written until the launch has taken the run directory (a record carrying
    :data:`~seq2seq.rundir.RUN_TAKEN`, logged once every check has passed): the lines
    before it are held back and written then, so a refused launch neither creates
    ``train.log`` nor appends to a finished run's."""

    #: Lines held back before the run directory is taken (the first ones of a launch).
    HELD = 10_000

    def __init__(self, filename: str, mode: str = "a", encoding: str | None = "utf-8") -> None:
        super().__init__(filename, mode, encoding=encoding, delay=True)
        self.problem: str | None = _log_problem(self.baseFilename)
        self.held: list[logging.LogRecord] | None = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.problem is not None:
            return
        if self.held is not None:
            taken = getattr(record, RUN_TAKEN, False)
            if taken or len(self.held) < self.HELD:
                self.held.append(record)
            if not taken:
                return
            held, self.held = self.held, None
            for line in held:
                super().emit(line)
            return
        super().emit(record)

    def _open(self):
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(self.baseFilename, flags, 0o644)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a plain file", self.baseFilename)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def _log_problem(filename: str) -> str | None:
    """Why ``filename`` cannot be the run's log (checked without creating it), or None."""
    path = Path(filename)
    try:
        if path.is_symlink():
            raise OSError(errno.ELOOP, "a symbolic link", filename)
        if path.exists() and not path.is_file():
            raise OSError(errno.EINVAL, "not a plain file", filename)
        if path.exists() and not os.access(path, os.W_OK):
            raise OSError(errno.EACCES, "Permission denied", filename)
        if not path.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
            raise OSError(errno.EACCES, "Permission denied", str(path.parent))
    except OSError as exc:
        return f"cannot write the log {filename}: {_log_reason(exc)}"
    return None


def _log_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link (remove it; the log is never written through a link)"
    return exc.strerror or str(exc)


def refuse_log_problems() -> None:
    """Raises the problem of a run log that could not be opened (see :class:`RunLogHandler`)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RunLogHandler) and handler.problem:
            raise Seq2SeqError(handler.problem)


def _command_name() -> str:
    """The command as the user typed it (``s2s-serve``, ``serve.py``)."""
    return Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "this command"


def _quiet_broken_pipe() -> NoReturn:
    """The reader left (``| head -1``): say nothing, and exit as a process killed by SIGPIPE
    would (128 + 13), not with a success status."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


class LaunchRecord(Callback):
    """Hydra callback (``configs/hydra/default.yaml``): notes, before Hydra creates the run
    directory, whether it is new or empty and which of its folders do not exist yet, so that
    a refused first launch can take back what it made (:func:`forget_refused_launch`)."""

    #: The run directory of the current launch, whether it was new or empty, and the
    #: top-most folder the launch creates (None: the run directory was there).
    run_dir: Path | None = None
    was_empty: bool = False
    created: Path | None = None

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        run_dir = Path(str(config.hydra.run.dir)).absolute()
        missing = [p for p in (run_dir, *run_dir.parents) if not os.path.lexists(p)]
        LaunchRecord.run_dir = run_dir
        LaunchRecord.created = missing[-1] if missing else None
        try:
            LaunchRecord.was_empty = bool(missing) or not any(run_dir.iterdir())
        except OSError:
            LaunchRecord.was_empty = False


def forget_refused_launch() -> None:
    """After a refused launch into a new or empty run directory: takes back its claim (the
    run marker and the lock) when that is all the directory holds and no other launch
    holds it, then removes the folders the launch created; anything else is left as it is."""
    from seq2seq.rundir import LOCK_FILE, RUN_MARKER, RunDir

    run_dir, top, was_empty = LaunchRecord.run_dir, LaunchRecord.created, LaunchRecord.was_empty
    LaunchRecord.run_dir = LaunchRecord.created = None
    if not was_empty or run_dir is None or not run_dir.is_dir() or run_dir.is_symlink():
        return
    if not {p.name for p in run_dir.iterdir()} <= {RUN_MARKER, LOCK_FILE}:
        return
    try:
        with RunDir(run_dir).lock():
            for name in (RUN_MARKER, LOCK_FILE):
                (run_dir / name).unlink(missing_ok=True)
    except (Seq2SeqError, OSError):
        return
    for folder in (run_dir, *run_dir.parents) if top is not None else ():
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == top:
            return


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    sys.exit(2)


def register_configs() -> None:
    """Stores every registered entry's defaults in Hydra's ConfigStore, the bases of the
    config groups' YAML files:

    * ``search_rule/<name>`` for ``configs/decoding/<name>.yaml`` (the rule's ``Params`` and
      :class:`~seq2seq.options.decoding.SharedDecoding` own the defaults);
    * ``model_family/<name>`` for ``configs/model/*.yaml`` (the family's record in
      :data:`~seq2seq.options.model.FAMILY_OPTIONS`);
    * ``data_source/<name>`` for ``configs/data/<name>.yaml`` (each source's options);
    * ``vocab_kind/<name>`` for ``configs/vocab/<name>.yaml`` (each vocabulary's options).

    The YAML files only pick the defaults up, so overrides such as ``decoding.beam_size=8``
    or ``model.units=64`` work without a value being repeated anywhere. None of this imports
    TensorFlow (see :mod:`seq2seq.options`), so a command answers ``--help`` or refuses an
    override before TensorFlow starts.
    """
    from hydra.core.config_store import ConfigStore

    from seq2seq.data import DATA_SOURCES
    from seq2seq.options.decoding import decoding_config_nodes
    from seq2seq.options.model import FAMILY_OPTIONS
    from seq2seq.registry import option_defaults
    from seq2seq.vocab import VOCABULARIES

    store = ConfigStore.instance()
    for name, node in decoding_config_nodes().items():
        store.store(group="search_rule", name=name, node=node, provider="seq2seq")
    records = {
        "model_family": FAMILY_OPTIONS,
        "data_source": {name: entry.options for name, entry in DATA_SOURCES.items()},
        "vocab_kind": {name: entry.options for name, entry in VOCABULARIES.items()},
    }
    for group, options in records.items():
        for name, record in options.items():
            node = {"name": name, **option_defaults(record)}
            store.store(group=group, name=name, node=node, provider="seq2seq")


#: TensorFlow's C++ start-up lines (absl/glog records, CPU-feature notes, the CUDA probe),
#: which ``TF_CPP_MIN_LOG_LEVEL`` does not silence in TF 2.21, and SentencePiece's note on
#: loading a model without normalisation rules (TensorFlow Text's op prints it).
_STARTUP_NOISE = re.compile(
    r"[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|normalizer\.cc\(\d+\) LOG\(INFO\) precompiled_charsmap is empty"
)


def verbose() -> bool:
    """True when TensorFlow's own start-up lines were asked for (``SEQ2SEQ_VERBOSE=1``)."""
    return os.environ.get("SEQ2SEQ_VERBOSE", "") not in ("", "0") or debug_enabled()


def quiet_tensorflow() -> None:
    """Imports TensorFlow (and lets it probe its devices) with stderr captured at the file
    descriptor, then writes back every captured line except TensorFlow's C++ start-up lines.

    Those lines come from C++ before Python logging exists, so only the descriptor sees them.
    TensorFlow's Python logger is kept to warnings and its C++ log, for the whole run, to
    fatal lines (``TF_CPP_MIN_LOG_LEVEL=3``, whatever the environment said).
    ``SEQ2SEQ_VERBOSE=1`` (or ``SEQ2SEQ_DEBUG=1``) keeps everything.
    """
    if verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    # Level 3 also keeps back the C++ lines logged while ops run (e.g. oneDNN's
    # "E0000 ... Falling back to the default Eigen-based implementation" on CPUs without
    # AVX-512); real failures still reach Python as exceptions. Set even over a user's
    # TF_CPP_MIN_LOG_LEVEL=2 (a common setting, which lets such E-lines through):
    # SEQ2SEQ_VERBOSE=1 is the way to see them.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # e.g. "Assets written to"
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe logs here
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").split("\n")
            kept = [line for line in lines if not _STARTUP_NOISE.match(line)]
            sys.stderr.write("\n".join(kept))
