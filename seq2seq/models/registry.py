"""The model registry: family name (``model.name``) -> :class:`Seq2SeqModel` subclass."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import keras

from seq2seq.errors import Seq2SeqError
from seq2seq.models.base import Seq2SeqModel

MODELS: dict[str, type[Seq2SeqModel]] = {}

M = TypeVar("M", bound=type[Seq2SeqModel])


def register(name: str) -> Callable[[M], M]:
    """Class decorator: makes a family available as ``model.name=<name>``."""

    def add(cls: M) -> M:
        if name in MODELS:
            raise ValueError(f"model family {name!r} is registered twice")
        cls.name = name
        MODELS[name] = cls
        return cls

    return add


def model_family(name: str) -> type[Seq2SeqModel]:
    """The family registered as ``name``.

    Raises:
        Seq2SeqError: no family has that name.
    """
    if name not in MODELS:
        raise Seq2SeqError(f"model.name={name!r} is unknown; choose one of {sorted(MODELS)}")
    return MODELS[name]


def build_model(
    name: str, source_vocab_size: int, target_vocab_size: int, **options: Any
) -> Seq2SeqModel:
    """A new model of family ``name``; ``options`` are its ``model.*`` settings."""
    return model_family(name).build(source_vocab_size, target_vocab_size, **options)


def wrap_training_model(training: keras.Model) -> Seq2SeqModel:
    """The family object around a loaded training model, chosen by the Keras model's name."""
    for family in MODELS.values():
        if training.name in family.keras_names():
            return family.from_training_model(training)
    known = sorted(name for family in MODELS.values() for name in family.keras_names())
    raise Seq2SeqError(
        f"not a seq2seq model: its Keras model is named {training.name!r}, expected one of {known}"
    )


def load_model(path: str | Path, compile: bool = False) -> Seq2SeqModel:
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
