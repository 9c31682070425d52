"""The model registries and the functions that build and load models through them.

* ``FAMILIES`` (``model.name``): :class:`~seq2seq.models.base.Seq2SeqModel` subclasses;
* ``ENCODERS`` (``model.encoder``): encoder parts (``seq2seq/models/encoders/``);
* ``BRIDGES`` (``model.bridge``): bridges (:mod:`seq2seq.models.bridges`);
* ``DECODERS``: decoder parts (:mod:`seq2seq.models.decoders`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import keras

from seq2seq.errors import Seq2SeqError
from seq2seq.options.model import FAMILY_OPTIONS
from seq2seq.registry import Registry

#: Each family's ``options`` is the record declared for its name in :mod:`seq2seq.options.model`.
FAMILIES: Registry = Registry(
    "model family", "model.name", declared=FAMILY_OPTIONS, declared_in="seq2seq/options/model.py"
)
ENCODERS: Registry = Registry("encoder", "model.encoder")
BRIDGES: Registry = Registry("bridge", "model.bridge")
#: Chosen by what the ``model.*`` settings ask for (``Decoder.selected_by``), found again by
#: layer name in a loaded model.
DECODERS: Registry = Registry("decoder", "model.input_feeding")


def model_family(name: str) -> type:
    """The family registered as ``name``.

    Raises:
        Seq2SeqError: no family has that name.
    """
    return FAMILIES.get(name)


def build_model(name: str, source_vocab_size: int, target_vocab_size: int, **options: Any):
    """A new model of family ``name``; ``options`` are its ``model.*`` settings."""
    return model_family(name).build(source_vocab_size, target_vocab_size, **options)


def wrap_training_model(training: keras.Model):
    """The family object around a loaded training model, chosen by the Keras model's name."""
    for family in FAMILIES:
        if training.name in family.keras_names():
            return family.from_training_model(training)
    known = sorted(name for family in FAMILIES for name in family.keras_names())
    raise Seq2SeqError(
        f"not a seq2seq model: its Keras model is named {training.name!r}, expected one of {known}"
    )


def load_model(path: str | Path, compile: bool = False):
    """Loads a saved training model with ``safe_mode=True`` and wraps it in its family.

    Raises:
        Seq2SeqError: the file is missing or is not a loadable seq2seq model.
    """
    path = Path(path)
    if not path.is_file():
        raise Seq2SeqError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):  # Keras would call a damaged file "not found"
        raise Seq2SeqError(f"cannot load model {path}: not a .keras zip archive (damaged?)")
    try:
        training = keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a corrupt file
        raise Seq2SeqError(f"cannot load model {path}: {exc}") from None
    return wrap_training_model(training)
