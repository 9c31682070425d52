"""Model families behind one contract (:class:`Seq2SeqModel`), chosen by ``model.name``.

A new family is one module in this package that subclasses :class:`Seq2SeqModel` and
decorates itself with ``@register("<name>")``, plus ``configs/model/<name>.yaml``: every
module here is imported (and so registered) when the package is.
"""

import importlib
import pkgutil

from seq2seq.models.base import Seq2SeqModel
from seq2seq.models.registry import (
    MODELS,
    build_model,
    load_model,
    model_family,
    register,
    wrap_training_model,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "registry"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "MODELS",
    "Seq2SeqModel",
    "build_model",
    "load_model",
    "model_family",
    "register",
    "wrap_training_model",
]
