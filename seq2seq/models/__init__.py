"""Model families behind one contract (:class:`Seq2SeqModel`), composed from parts.

``model.name`` picks a family (``FAMILIES``), ``model.encoder`` an encoder (``ENCODERS``),
``model.bridge`` a bridge (``BRIDGES``), and the settings select a decoder (``DECODERS``,
each saying which settings select it). A new part or family is one module in this package
(or in ``encoders/``) that registers itself, plus a YAML file in ``configs/model/``: every
module here is imported, and so registered, with the package.
"""

from seq2seq.models.base import CapabilityError, RecurrentStack, Seq2SeqModel
from seq2seq.models.registry import (
    BRIDGES,
    DECODERS,
    ENCODERS,
    FAMILIES,
    build_model,
    load_model,
    model_family,
    wrap_training_model,
)
from seq2seq.options.model import ModelOptions
from seq2seq.registry import import_modules

import_modules(__name__, __path__, skip=("base", "registry"))

__all__ = [
    "BRIDGES",
    "DECODERS",
    "ENCODERS",
    "FAMILIES",
    "CapabilityError",
    "ModelOptions",
    "RecurrentStack",
    "Seq2SeqModel",
    "build_model",
    "load_model",
    "model_family",
    "wrap_training_model",
]
