"""The settings records of the registered parts, importable without TensorFlow.

Hydra's config groups (``configs/model/``, ``configs/decoding/``) take their defaults from
these records through the ConfigStore (:func:`seq2seq.cli.register_configs`), which every
command fills before Hydra parses its arguments. Keeping the records here, apart from the
Keras and TensorFlow code that implements the parts, is what lets ``--help``, ``--cfg`` and a
refused override answer without TensorFlow's start-up.

Each record is declared once, under its entry's name (:data:`~seq2seq.options.model.FAMILY_OPTIONS`,
:data:`~seq2seq.options.decoding.RULE_PARAMS`); the implementation registers under the same
name and the registry refuses one whose record differs (see
:class:`seq2seq.registry.Registry`). Data sources and vocabularies need no such split: their
modules do not import TensorFlow.
"""

from __future__ import annotations

from typing import Any


def flatten(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"units": 8}}`` -> ``{"model.units": 8}`` (dotted keys of the leaves)."""
    flat: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
