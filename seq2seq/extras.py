"""The optional extras of ``pyproject.toml`` and the modules each brings: a command or setting
whose extra is not installed says which one to install, in one line."""

from __future__ import annotations

import importlib
from types import ModuleType

from seq2seq.errors import Seq2SeqError

#: The top-level module -> the extra that installs it (``pip install -e ".[<extra>]"``).
EXTRA_OF_MODULE = {
    "fastapi": "serve",
    "uvicorn": "serve",
    "starlette": "serve",
    "httpx": "serve",
    "sentencepiece": "subword",
    "tensorflow_text": "subword",
    "datasets": "hf",
    "ai_edge_litert": "litert",
    "hydra_plugins.hydra_joblib_launcher": "sweep",
    "hydra_plugins.hydra_optuna_sweeper": "sweep",
    "optuna": "sweep",
    "hydra_plugins.hydra_submitit_launcher": "slurm",
}

#: Hydra config groups whose options come from a plugin -> ``{option: extra}``.
EXTRA_OF_HYDRA_OPTION = {
    "hydra/launcher": {"joblib": "sweep", "submitit_slurm": "slurm", "submitit_local": "slurm"},
    "hydra/sweeper": {"optuna": "sweep"},
}


def install_hint(extra: str) -> str:
    """How to install ``extra`` (the project is installed from its checkout)."""
    return f'pip install -e ".[{extra}]" in the checkout'


def missing_extra_message(module: str | None, what: str) -> str | None:
    """The one-line advice for ``module`` missing while ``what`` runs, or None when no extra
    brings that module (a broken installation, not a missing extra)."""
    for name, extra in EXTRA_OF_MODULE.items():
        if module and (
            module == name or module.startswith(name + ".") or name.startswith(module + ".")
        ):
            return (
                f"{what} needs the optional extra {extra!r} ({module} is not installed):"
                f" {install_hint(extra)}"
            )
    return None


def require(module: str, what: str) -> ModuleType:
    """Imports ``module``, which ``what`` (e.g. ``vocab=sentencepiece``) needs.

    Raises:
        Seq2SeqError: the module is missing, naming the extra that installs it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        advice = missing_extra_message(module, what)
        raise Seq2SeqError(advice or f"{what} needs {module}: {exc}") from None
