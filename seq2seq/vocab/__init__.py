"""Vocabularies (tokenizers), registered by ``vocab.name``: characters (the default) and
SentencePiece subwords; ``vocab.json`` reading and writing.

A new kind is one module in this package that subclasses
:class:`~seq2seq.vocab.base.TokenVocabulary` and registers itself with
``@VOCABULARIES.register("<name>")``, plus ``configs/vocab/<name>.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seq2seq.registry import import_modules, make_options
from seq2seq.vocab.base import (
    END,
    END_ID,
    PAD,
    PAD_ID,
    SPECIAL_TOKENS,
    START,
    START_ID,
    UNK,
    UNK_ID,
    UNK_TEXT,
    VOCABULARIES,
    TokenVocabulary,
    cut_at_end,
    pad_batch,
)
from seq2seq.vocab.chars import Vocabulary

import_modules(__name__, __path__, skip=("base", "graph", "store"))

__all__ = [
    "END",
    "END_ID",
    "PAD",
    "PAD_ID",
    "SPECIAL_TOKENS",
    "START",
    "START_ID",
    "UNK",
    "UNK_ID",
    "UNK_TEXT",
    "VOCABULARIES",
    "VOCAB_FORMAT_VERSION",
    "TokenVocabulary",
    "Vocabulary",
    "cut_at_end",
    "make_vocabularies",
    "pad_batch",
    "vocab_options",
    "vocabularies_from_payload",
    "vocabularies_payload",
]  # fmt: skip

VOCAB_FORMAT_VERSION = 1
#: The ``vocab.json`` key naming a side's kind; absent: characters (runs of every version).
KIND_KEY = "tokenizer"


def vocab_options(name: str, **values: Any) -> Any:
    """The checked settings record of vocabulary kind ``name``.

    Raises:
        Seq2SeqError: an unknown kind or setting, or a bad value.
    """
    return make_options(VOCABULARIES.get(name).options, "vocab", values)


def make_vocabularies(
    name: str, options: Any, pairs: Iterable[tuple[str, str]], profile: Any = None
) -> tuple[TokenVocabulary, TokenVocabulary]:
    """The source and target vocabularies of kind ``name`` built from the training pairs."""
    return VOCABULARIES.get(name).build_pair(options, pairs, profile)


def vocabularies_payload(
    source: TokenVocabulary, target: TokenVocabulary, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON content of ``vocab.json``: both vocabularies plus optional metadata."""
    return {
        "format_version": VOCAB_FORMAT_VERSION,
        "source": source.to_dict(),
        "target": target.to_dict(),
        **(metadata or {}),
    }


def _side(data: Any, directory: Path) -> TokenVocabulary:
    if not isinstance(data, dict):
        raise ValueError(f"a vocabulary must be an object, got {type(data).__name__}")
    name = data.get(KIND_KEY, "char")
    if name not in VOCABULARIES:
        raise ValueError(f"unknown vocabulary kind {name!r}; known: {VOCABULARIES.names()}")
    return VOCABULARIES.get(name).from_dict(data, directory)


def vocabularies_from_payload(
    payload: dict[str, Any], directory: str | Path = "."
) -> tuple[TokenVocabulary, TokenVocabulary, dict[str, Any]]:
    """Inverse of :func:`vocabularies_payload`: ``(source, target, metadata)``; the files a
    vocabulary names (a SentencePiece model) are read from ``directory``.

    Raises:
        ValueError, KeyError, TypeError, AttributeError: the payload is malformed.
    """
    payload = dict(payload)
    source = _side(payload.pop("source"), Path(directory))
    target = _side(payload.pop("target"), Path(directory))
    for key in ("max_source_length", "max_target_length"):
        value = payload.get(key)
        if key in payload and (type(value) is not int or value < 1):
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    return source, target, payload
