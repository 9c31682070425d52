"""Where the decoder looked: the attention weights it gives when it reads a translation
(teacher forcing), for :meth:`seq2seq.translation.Translator.aligned`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from seq2seq.vocab import START_ID, TokenVocabulary, pad_batch

#: Inputs per call of the compiled attention function (sorted by length, padded).
ALIGNMENT_BATCH = 32


class Alignment(NamedTuple):
    """Where the decoder looked: ``weights[i, j]`` is the attention output token ``i``
    (the last row: END) paid to source token ``j`` (tokens: characters, or subword pieces,
    whose labels are ``source_tokens`` / ``output_tokens``)."""

    source: str
    output: str
    weights: np.ndarray
    source_tokens: list[str]
    output_tokens: list[str]


class Aligner:
    """A model's ``alignments`` over padded batches of one compiled function (traced once)."""

    def __init__(self, model: Any, source_vocab: TokenVocabulary, target_vocab: TokenVocabulary):
        self.model = model
        self.source_vocab = source_vocab
        self.target_vocab = target_vocab
        self._fn: Any = None

    def aligned(self, sources: list[list[int]], outputs: Sequence[str]) -> list[Alignment | None]:
        """The alignment of each input's source ids with its output (None: an empty input,
        or a model without attention), in batches of inputs of similar length."""
        targets = [self.target_vocab.encode(o) for o in outputs]
        found: list[Alignment | None] = [None] * len(sources)
        order = sorted((i for i, ids in enumerate(sources) if ids), key=lambda i: len(sources[i]))
        for start in range(0, len(order), ALIGNMENT_BATCH):
            rows = order[start : start + ALIGNMENT_BATCH]
            weights = self._attention(
                np.asarray(pad_batch([sources[i] for i in rows]), np.int32),
                np.asarray(pad_batch([[START_ID, *targets[i]] for i in rows]), np.int32),
            )
            if weights is None:
                return found
            for row, i in enumerate(rows):
                ids, target_ids = sources[i], targets[i]
                found[i] = Alignment(self.source_vocab.decode(ids), outputs[i],
                                     np.asarray(weights[row, : len(target_ids) + 1, : len(ids)]),
                                     self.source_vocab.tokens(ids),
                                     self.target_vocab.tokens(target_ids))  # fmt: skip
        return found

    def _attention(self, source: np.ndarray, target_in: np.ndarray) -> np.ndarray | None:
        """``model.alignments`` through one compiled function (traced once per model)."""
        if self._fn is None:
            import tensorflow as tf

            spec = tf.TensorSpec([None, None], tf.int32)
            self._fn = tf.function(self.model.alignments, input_signature=[spec, spec])
        weights = self._fn(source, target_in)
        return None if weights is None else np.asarray(weights)
