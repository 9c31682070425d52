"""``tf.data`` input pipeline: int32 token ids, shuffled, padded per batch, prefetched.

Each element is ``({"source": src, "target_in": START + tgt}, tgt + END)``; padding uses
``PAD_ID`` (0), which the model masks out of its loss and accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from seq2seq.data.splits import Pair
from seq2seq.data.stream import StreamedPairs
from seq2seq.vocab import END_ID, START_ID, TokenVocabulary

SOURCE_KEY = "source"
TARGET_IN_KEY = "target_in"
# Which length picks a pair's bucket: its source's, its target's, or the longer of the two
# (both sides then carry little padding when their lengths go together, as in translation).
BUCKET_SIDES = ("longer", "source", "target")
# A streamed file is shuffled within a window of this many pairs (and its batches within
# this many batches): shuffle a big file once on disk (`shuf`) if its order means something.
STREAM_SHUFFLE_PAIRS = 100_000
STREAM_SHUFFLE_BATCHES = 1_000


@dataclass(frozen=True)
class EncodedPairs:
    """Pairs in memory as ids, encoded once."""

    source: list[list[int]]
    target: list[list[int]]

    @classmethod
    def of(cls, pairs: Sequence[Pair], source: TokenVocabulary, target: TokenVocabulary):
        """Encodes ``pairs`` with the two vocabularies."""
        return cls([source.encode(s) for s, _ in pairs], [target.encode(t) for _, t in pairs])

    def dataset(self) -> tf.data.Dataset:
        """A dataset of ``(source ids, target ids)``."""
        return tf.data.Dataset.from_tensor_slices((_ragged(self.source), _ragged(self.target)))


def _streamed_ids(pairs: StreamedPairs, source: TokenVocabulary, target: TokenVocabulary):
    """A dataset of ``(source ids, target ids)`` read from the file on every pass."""

    def encoded():
        for s, t in pairs:
            yield (
                np.asarray(source.encode(s), np.int32),
                np.asarray(target.encode(t), np.int32),
            )

    spec = tf.TensorSpec([None], tf.int32)
    return tf.data.Dataset.from_generator(encoded, output_signature=(spec, spec))


def _steps(bucket_by: str, source_tokens: int, target_tokens: int) -> int:
    """A pair's length in steps on the ``bucket_by`` side: a source of n tokens is n steps,
    a target of n tokens n + 1 (START / END)."""
    source, target = source_tokens, target_tokens + 1
    return {"source": source, "target": target}.get(bucket_by, max(source, target))


def _ragged(sequences: Sequence[Sequence[int]]) -> tf.RaggedTensor:
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    flat = np.fromiter((i for s in sequences for i in s), dtype=np.int32, count=int(lengths.sum()))
    return tf.RaggedTensor.from_row_lengths(flat, lengths)


def make_dataset(
    pairs: Sequence[Pair] | StreamedPairs,
    source_vocab: TokenVocabulary,
    target_vocab: TokenVocabulary,
    batch_size: int,
    shuffle: bool = False,
    seed: int | None = None,
    bucket_width: int | None = None,
    bucket_by: str = "source",
    batch_tokens: int | None = None,
) -> tf.data.Dataset:
    """Builds the teacher-forcing dataset for ``pairs``.

    Args:
        pairs: ``(source, target)`` strings.
        source_vocab: encodes sources.
        target_vocab: encodes targets.
        batch_size: pairs per batch; each batch is padded to its own longest sequence.
        shuffle: reshuffle the pairs every epoch.
        seed: shuffle seed (None: unseeded).
        bucket_width: batch pairs whose ``bucket_by`` sides have similar lengths (buckets
            this many characters wide), so batches carry less padding; None or 0: plain
            batches.
        bucket_by: ``longer``, ``source`` or ``target``: the length (in steps) that picks
            the bucket; ``longer`` takes the longer side of each pair.
        batch_tokens: with buckets, size each bucket's batches to hold about this many
            ``bucket_by`` steps (``batch_tokens // longest length of the bucket`` pairs)
            instead of ``batch_size`` pairs, so every batch carries about the same number of
            characters and each character weighs the same in the per-batch mean loss.

    Returns:
        A dataset of ``(inputs, labels)`` batches.
    """
    if not pairs:
        raise ValueError("cannot build a dataset from zero pairs")
    if bucket_width and bucket_by not in BUCKET_SIDES:
        raise ValueError(f"bucket_by must be one of {BUCKET_SIDES}, got {bucket_by!r}")
    streamed = isinstance(pairs, StreamedPairs)
    encoded = None if streamed else EncodedPairs.of(pairs, source_vocab, target_vocab)
    ids = _streamed_ids(pairs, source_vocab, target_vocab) if streamed else encoded.dataset()
    ds = _examples(ids, len(pairs), streamed, shuffle, seed)
    if not bucket_width:
        return _quiet(ds.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE))
    buckets = Buckets(bucket_width, bucket_by, batch_size, batch_tokens)
    ds = _bucketed(ds, pairs.profile if streamed else encoded, buckets)
    if shuffle:
        # Buckets flush their partial batches at the end of every pass, sorted by length:
        # without this, each epoch would end with a run of the longest (and smallest)
        # batches, which skews the weights the epoch ends with.
        batches = int(ds.cardinality()) if ds.cardinality() > 0 else STREAM_SHUFFLE_BATCHES
        ds = ds.shuffle(batches, seed=seed, reshuffle_each_iteration=True)
    return _quiet(ds.prefetch(tf.data.AUTOTUNE))


def _examples(ds: tf.data.Dataset, count: int, streamed: bool, shuffle: bool, seed: int | None):
    """Unbatched ``({source, target_in}, target_out)`` examples of ``count`` id pairs,
    reshuffled every pass when ``shuffle`` (a streamed file within a window of
    ``STREAM_SHUFFLE_PAIRS`` pairs)."""
    if shuffle:
        buffer = min(count, STREAM_SHUFFLE_PAIRS) if streamed else count
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)

    start = tf.constant([START_ID], tf.int32)
    end = tf.constant([END_ID], tf.int32)

    def to_example(s: tf.Tensor, t: tf.Tensor):
        return {SOURCE_KEY: s, TARGET_IN_KEY: tf.concat([start, t], 0)}, tf.concat([t, end], 0)

    return ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


@dataclass(frozen=True)
class Buckets:
    """How examples are bucketed into batches (see :func:`make_dataset`)."""

    width: int
    by: str
    batch_size: int
    batch_tokens: int | None


def _bucketed(ds: tf.data.Dataset, known, buckets: Buckets) -> tf.data.Dataset:
    """Batches of examples whose ``buckets.by`` lengths are within ``buckets.width`` steps.
    ``known`` is the :class:`EncodedPairs` of an in-memory split, which also gets its exact
    number of batches, or a streamed split's profile (its longest pair in characters, at
    least as many as its tokens; the number of batches is not known)."""
    if isinstance(known, EncodedPairs):
        pairs = zip(known.source, known.target, strict=True)
        lengths = np.asarray([_steps(buckets.by, len(s), len(t)) for s, t in pairs])
        longest = int(lengths.max())
    else:
        lengths = None
        longest = _steps(buckets.by, known.longest_source, known.longest_target)
    boundaries = list(range(buckets.width + 1, longest + 1, buckets.width))
    uppers = [b - 1 for b in boundaries] + [longest]
    tokens = buckets.batch_tokens
    sizes = [max(1, tokens // u) if tokens else buckets.batch_size for u in uppers]

    def length(inputs, labels):
        source, target = tf.shape(inputs[SOURCE_KEY])[0], tf.shape(labels)[0]
        return {"source": source, "target": target}.get(buckets.by, tf.maximum(source, target))

    ds = ds.bucket_by_sequence_length(
        length, bucket_boundaries=boundaries, bucket_batch_sizes=sizes
    )
    if lengths is None:
        return ds
    # Bucket membership depends on length only, so every epoch has the same number of
    # batches; telling tf.data spares Keras a "ran out of data" warning.
    counts = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(sizes))
    num_batches = int(sum(-(-int(n) // size) for n, size in zip(counts, sizes, strict=True)))
    return ds.apply(tf.data.experimental.assert_cardinality(num_batches))


def _quiet(ds: tf.data.Dataset) -> tf.data.Dataset:
    """The input pipeline on one private thread, without autotuning: its work (a concat per
    pair, bucketing) is tiny, and with autotuning on, one epoch in two or three ran at half
    speed on a 2-core CPU as if the training step had one core (docs/benchmarks.md, "Training
    speed")."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    return ds.with_options(options)
