"""Glue for the thin ``scripts/*.py`` entry points: one-line errors instead of tracebacks."""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
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
    """Stores every registered entry's defaults in Hydra's ConfigStore, the bases of the
    config groups' YAML files:

    * ``search_rule/<name>`` for ``configs/decoding/<name>.yaml`` (the rule's ``Params`` and
      :class:`seq2seq.settings.DecodingSettings` own the defaults);
    * ``model_family/<name>`` for ``configs/model/*.yaml`` (:class:`ModelOptions`);
    * ``data_source/<name>`` for ``configs/data/<name>.yaml`` (each source's options).

    The YAML files only pick the defaults up, so overrides such as ``decoding.beam_size=8``
    or ``model.units=64`` work without a value being repeated anywhere.
    """
    from hydra.core.config_store import ConfigStore

    from seq2seq.data import DATA_SOURCES
    from seq2seq.models import FAMILIES
    from seq2seq.registry import option_defaults
    from seq2seq.settings import decoding_config_nodes

    store = ConfigStore.instance()
    for name, node in decoding_config_nodes().items():
        store.store(group="search_rule", name=name, node=node, provider="seq2seq")
    for group, registry in (("model_family", FAMILIES), ("data_source", DATA_SOURCES)):
        for name, entry in registry.items():
            node = {"name": name, **option_defaults(entry.options)}
            store.store(group=group, name=name, node=node, provider="seq2seq")


#: TensorFlow's C++ start-up lines (absl/glog records, CPU-feature notes, the CUDA probe),
#: which ``TF_CPP_MIN_LOG_LEVEL`` does not silence in TF 2.21.
_STARTUP_NOISE = re.compile(
    r"[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow"
)


def verbose() -> bool:
    """True when TensorFlow's own start-up lines were asked for (``SEQ2SEQ_VERBOSE=1``)."""
    return os.environ.get("SEQ2SEQ_VERBOSE", "") not in ("", "0") or debug_enabled()


def quiet_tensorflow() -> None:
    """Imports TensorFlow (and lets it probe its devices) with stderr captured at the file
    descriptor, then writes back every captured line except TensorFlow's C++ start-up lines.

    Those lines come from C++ before Python logging exists, so only the descriptor sees them.
    TensorFlow's Python logger is kept to warnings and its C++ log to fatal lines
    (``TF_CPP_MIN_LOG_LEVEL=3`` unless set). ``SEQ2SEQ_VERBOSE=1`` (or ``SEQ2SEQ_DEBUG=1``)
    keeps everything.
    """
    if verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    # Level 3 also keeps back the C++ lines logged while ops run (e.g. oneDNN's
    # "E0000 ... Falling back to the default Eigen-based implementation"); real failures
    # still reach Python as exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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
