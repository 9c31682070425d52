"""Model families behind one contract (:class:`Seq2SeqModel`), chosen by ``model.name``.

A new family is one module here that subclasses :class:`Seq2SeqModel`, decorates itself
with ``@register("<name>")`` and is imported below, plus ``configs/model/<name>.yaml``.
"""

from seq2seq.models import lstm  # noqa: F401  (registers "lstm")
from seq2seq.models.base import Seq2SeqModel
from seq2seq.models.registry import (
    MODELS,
    build_model,
    load_model,
    model_family,
    register,
    wrap_training_model,
)

__all__ = [
    "MODELS",
    "Seq2SeqModel",
    "build_model",
    "load_model",
    "model_family",
    "register",
    "wrap_training_model",
]
