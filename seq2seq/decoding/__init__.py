"""Decoding: turning batches of source ids into target ids with a trained model."""

from seq2seq.decoding.reference import greedy_decode_reference
from seq2seq.decoding.search import (
    DECODERS,
    BeamSearchDecoder,
    Decoder,
    GreedyDecoder,
    Hypotheses,
    SamplingDecoder,
)

__all__ = [
    "DECODERS",
    "BeamSearchDecoder",
    "Decoder",
    "GreedyDecoder",
    "Hypotheses",
    "SamplingDecoder",
    "greedy_decode_reference",
]
