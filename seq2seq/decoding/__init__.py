"""Decoding: one compiled loop over the model contract, with small search rules.

``SEARCH_RULES`` (a :class:`seq2seq.registry.Registry`) maps ``decoding.name`` to its rule;
a rule registers itself with ``@SEARCH_RULES.register("<name>")``; its parameters (their
defaults and checks) are a frozen dataclass ``Params`` declared under the same name in
:mod:`seq2seq.options.decoding`, which imports no TensorFlow.
"""

from seq2seq.decoding.beam import BeamSearch
from seq2seq.decoding.greedy import GreedySearch
from seq2seq.decoding.reference import greedy_decode_reference
from seq2seq.decoding.sampling import RandomSampling
from seq2seq.decoding.search import SEARCH_RULES, Hypotheses, LoopState, SearchRule
from seq2seq.options.decoding import (
    MAX_LENGTH,
    MAX_WIDTH,
    BeamParams,
    NoParams,
    SamplingParams,
)
from seq2seq.registry import import_modules

import_modules(__name__, __path__)  # every rule registers itself, a new one included

__all__ = [
    "MAX_LENGTH",
    "MAX_WIDTH",
    "SEARCH_RULES",
    "BeamParams",
    "BeamSearch",
    "GreedySearch",
    "Hypotheses",
    "LoopState",
    "NoParams",
    "RandomSampling",
    "SamplingParams",
    "SearchRule",
    "greedy_decode_reference",
]
