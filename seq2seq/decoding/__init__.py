"""Decoding: turning source id batches into target id batches with a trained model."""

from seq2seq.decoding.greedy import GreedyDecoder, greedy_decode_reference

__all__ = ["GreedyDecoder", "greedy_decode_reference"]
