"""Decoding: one compiled loop over the model contract, with small search rules.

``SEARCH_RULES`` (a :class:`seq2seq.registry.Registry`) maps ``decoding.name`` to its rule;
a rule registers itself with ``@SEARCH_RULES.register("<name>")`` and owns its parameters
(their defaults and checks) as a frozen dataclass ``Params``.
"""

from seq2seq.decoding.beam import BeamParams, BeamSearch
from seq2seq.decoding.greedy import GreedySearch
from seq2seq.decoding.reference import greedy_decode_reference
from seq2seq.decoding.sampling import RandomSampling, SamplingParams
from seq2seq.decoding.search import (
    MAX_LENGTH,
    MAX_WIDTH,
    SEARCH_RULES,
    Hypotheses,
    LoopState,
    NoParams,
    SearchRule,
)

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
