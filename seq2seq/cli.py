"""Glue for the thin ``scripts/*.py`` entry points: one-line errors instead of tracebacks."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from seq2seq.errors import Seq2SeqError

T = TypeVar("T")
log = logging.getLogger("seq2seq")


def debug_enabled() -> bool:
    """True when full tracebacks were asked for (``HYDRA_FULL_ERROR=1`` or ``SEQ2SEQ_DEBUG=1``)."""
    return any(
        os.environ.get(v, "") not in ("", "0") for v in ("HYDRA_FULL_ERROR", "SEQ2SEQ_DEBUG")
    )


def run_task(task: Callable[[DictConfig], T], cfg: DictConfig) -> T:
    """Runs ``task(cfg)``; a user mistake, or a file-system failure such as a full disk,
    prints one ``error: ...`` line to stderr and exits with 2."""
    try:
        return task(cfg)
    except (Seq2SeqError, OmegaConfBaseException) as exc:
        if debug_enabled():
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(message)
    except BrokenPipeError:
        # The reader left (``| head -1``): say nothing, and exit as a process killed by
        # SIGPIPE would (128 + 13), not with a success status.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except OSError as exc:  # e.g. ENOSPC while a checkpoint is written
        if debug_enabled():
            raise
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    sys.exit(2)


def register_configs() -> None:
    """Stores each search rule's ``decoding`` defaults in Hydra's ConfigStore as
    ``search_rule/<name>``, the base of ``configs/decoding/<name>.yaml``.

    The rule's ``Params`` dataclass (and :class:`seq2seq.settings.DecodingSettings`) own the
    defaults; the YAML files only pick them up, so overrides such as
    ``decoding.beam_size=8`` work without repeating a value.
    """
    from hydra.core.config_store import ConfigStore

    from seq2seq.settings import decoding_config_nodes

    store = ConfigStore.instance()
    for name, node in decoding_config_nodes().items():
        store.store(group="search_rule", name=name, node=node, provider="seq2seq")


def quiet_tensorflow() -> None:
    """Silences TensorFlow's C++ info logs unless the user set the level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
