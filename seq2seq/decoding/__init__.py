"""Decoding: one compiled loop over the model contract, with small search rules.

``SEARCH_RULES`` maps ``decoding.name`` to its rule; a rule owns its parameters (their
defaults and checks) as a frozen dataclass ``Params``.
"""

from seq2seq.decoding.beam import BeamParams, BeamSearch
from seq2seq.decoding.greedy import GreedySearch
from seq2seq.decoding.reference import greedy_decode_reference
from seq2seq.decoding.sampling import RandomSampling, SamplingParams
from seq2seq.decoding.search import Hypotheses, LoopState, NoParams, SearchRule

SEARCH_RULES: dict[str, type[SearchRule]] = {
    rule.name: rule for rule in (GreedySearch, BeamSearch, RandomSampling)
}

__all__ = [
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
