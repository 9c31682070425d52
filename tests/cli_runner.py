"""Runs a console command (``s2s-train``, ``s2s-translate`` ...) inside the test process.

:func:`run_command` calls the same function the installed command calls, with ``sys.argv``,
the working directory, standard input and the environment set as a shell would set them, and
hands back what a process would have left: the exit status, standard output and standard
error. An exception escaping the command is what a real process prints as a traceback, so
it is written to ``stderr`` (and the status is 1), and the assertions that a real process's
stderr holds no ``Traceback`` keep their meaning.

Everything the command changes in the process is put back afterwards: Hydra's global state
(``GlobalHydra``, ``HydraConfig``), the root logger's handlers (Hydra's ``train.log`` file
handler is closed), the environment (``HYDRA_FULL_ERROR``, ``SEQ2SEQ_HYDRA_RAISES``), the
working directory and the standard streams. The handlers that live outside the command
(pytest's log capture among them) are hidden from it while it runs: Hydra configures logging
with ``logging.config.dictConfig``, which closes every handler the process has ever made.

What this cannot stand in for (a real process is then needed, and the test is ``e2e``): a
signal, a kill, TensorFlow's start-up lines at the file descriptor, the installed entry
points themselves, and anything that depends on TensorFlow not being imported yet.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

#: Environment variables a user's shell might set that change how errors are reported.
_CLEARED_ENV = ("HYDRA_FULL_ERROR", "SEQ2SEQ_DEBUG", "SEQ2SEQ_HYDRA_RAISES")


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left, as ``subprocess.CompletedProcess`` names it."""

    returncode: int
    stdout: str
    stderr: str


def run_command(
    command: str,
    *args: str,
    stdin: str = "",
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> CommandResult:
    """Runs ``s2s-<command> args...`` in this process and returns its status and output.

    Args:
        command: the command without its ``s2s-`` prefix (``"train"``, ``"compare"``).
        *args: the command line after the command's name.
        stdin: the text on standard input.
        cwd: the working directory (default: the current one).
        env: extra environment variables for the call.
    """
    from seq2seq import commands

    entry = getattr(commands, command)
    saved = _ProcessState.save()
    out, err = _stream(), _stream()
    try:
        for name in _CLEARED_ENV:
            os.environ.pop(name, None)
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        for handler in list(logging.getLogger().handlers):  # as in a new process
            logging.getLogger().removeHandler(handler)
        sys.argv = [f"s2s-{command}", *args]
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
        sys.stdout, sys.stderr = out, err
        code = _call(entry)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        saved.restore()
    return CommandResult(code, _text(out), _text(err))


def _call(entry) -> int:
    """The exit status of ``entry()``; an escaping exception is printed as a traceback."""
    try:
        entry()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        sys.stderr.write(f"{exc.code}\n")
        return 1
    except BaseException:  # what the interpreter would print, and its status
        sys.stderr.write(traceback.format_exc())
        return 1
    return 0


def _stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8", "replace")


@dataclass
class _ProcessState:
    """The process-wide state a command changes, to put back after it."""

    argv: list[str]
    cwd: str
    environ: dict[str, str]
    streams: tuple
    root_handlers: list[logging.Handler]
    root_level: int
    levels: dict[str, int]
    handler_list: list  # logging's weak references to every handler (dictConfig closes them)
    named_handlers: dict

    @classmethod
    def save(cls) -> _ProcessState:
        root = logging.getLogger()
        levels = {
            name: logger.level
            for name, logger in logging.Logger.manager.loggerDict.items()
            if isinstance(logger, logging.Logger)
        }
        state = cls(
            list(sys.argv), os.getcwd(), dict(os.environ), (sys.stdin, sys.stdout, sys.stderr),
            list(root.handlers), root.level, levels,
            list(logging._handlerList), dict(logging._handlers),
        )  # fmt: skip
        logging._handlerList[:] = []  # what the command's dictConfig may close
        logging._handlers.clear()
        return state

    def restore(self) -> None:
        from hydra.core.global_hydra import GlobalHydra
        from hydra.core.hydra_config import HydraConfig

        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler not in self.root_handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in self.root_handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(self.root_level)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(self.levels.get(name, logging.NOTSET))
                logger.disabled = False
        logging._handlerList[:] = self.handler_list + logging._handlerList
        logging._handlers.clear()
        logging._handlers.update(self.named_handlers)
        sys.argv = self.argv
        os.chdir(self.cwd)
        os.environ.clear()
        os.environ.update(self.environ)
        sys.stdin, sys.stdout, sys.stderr = self.streams
