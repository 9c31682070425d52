"""Vocabularies in the graph, for the SavedModel (imported only by an export).

Each is a ``tf.Module`` with ``encode(text)`` (``tf.string [batch]`` -> ragged int32 ids)
and ``decode(ids)`` (``int32 [..., steps]`` -> ``tf.string [...]``, the ids before the first
END, PAD and START dropped).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from seq2seq.extras import require
from seq2seq.vocab.base import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID, UNK_ID, UNK_TEXT


def _before_end(ids: tf.Tensor) -> tf.Tensor:
    """True for the ids before the first END of each row (the last axis)."""
    return tf.equal(tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=-1), 0)


class CharGraph(tf.Module):
    """A character vocabulary: code points looked up in a hash table."""

    def __init__(self, characters: Sequence[str]) -> None:
        super().__init__(name="char_vocabulary")
        first = len(SPECIAL_TOKENS)
        keys = tf.constant([ord(ch) for ch in characters], tf.int64)
        values = tf.range(first, first + len(characters), dtype=tf.int64)
        initializer = tf.lookup.KeyValueTensorInitializer(keys, values)
        self.table = tf.lookup.StaticHashTable(initializer, UNK_ID)
        strings = ["" for _ in SPECIAL_TOKENS] + list(characters)
        strings[UNK_ID] = UNK_TEXT
        self.strings = tf.constant(strings)

    def encode(self, text: tf.Tensor) -> tf.RaggedTensor:
        """``[batch]`` strings -> ragged int32 ids (invalid UTF-8 reads as U+FFFD)."""
        codepoints = tf.strings.unicode_decode(text, "UTF-8", errors="replace")
        return tf.ragged.map_flat_values(
            lambda cp: tf.cast(self.table.lookup(tf.cast(cp, tf.int64)), tf.int32), codepoints
        )

    def decode(self, ids: tf.Tensor) -> tf.Tensor:
        """``[..., steps]`` ids -> strings of the ids before the first END."""
        chars = tf.where(_before_end(ids), tf.gather(self.strings, ids), "")
        return tf.strings.reduce_join(chars, axis=-1)


class SentencePieceGraph(tf.Module):
    """A SentencePiece model: TensorFlow Text's ``SentencepieceTokenizer`` (whoever loads
    the SavedModel must ``import tensorflow_text`` first, to have its ops).

    Each model needs its own ``name``: TensorFlow Text's op owns its model in its kernel, and
    in a loaded SavedModel two unnamed tokenizers are one kernel, so the target side would
    detokenize with the source model (a test exports both and checks every output)."""

    def __init__(self, model: bytes, name: str) -> None:
        super().__init__(name=name)
        tensorflow_text = require("tensorflow_text", "exporting a SentencePiece run")
        self.tokenizer = tensorflow_text.SentencepieceTokenizer(
            model=model, out_type=tf.int32, name=name
        )

    def encode(self, text: tf.Tensor) -> tf.RaggedTensor:
        """``[batch]`` strings -> ragged int32 piece ids."""
        return self.tokenizer.tokenize(text)

    def decode(self, ids: tf.Tensor) -> tf.Tensor:
        """``[..., steps]`` ids -> the detokenized text of the ids before the first END."""
        shape = tf.shape(ids)
        flat = tf.reshape(ids, [-1, shape[-1]])
        keep = _before_end(flat) & (flat != PAD_ID) & (flat != START_ID)
        text = self.tokenizer.detokenize(tf.ragged.boolean_mask(flat, keep))
        return tf.reshape(text, shape[:-1])
