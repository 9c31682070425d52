"""``tf.data`` input pipeline: int32 character ids, shuffled, padded per batch, prefetched.

Each element is ``({"source": src, "target_in": START + tgt}, tgt + END)``; padding uses
``PAD_ID`` (0), which the model masks out of its loss and accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from seq2seq.data.splits import Pair
from seq2seq.vocab import END_ID, START_ID, Vocabulary

SOURCE_KEY = "source"
TARGET_IN_KEY = "target_in"
# Which length picks a pair's bucket: its source's, its target's, or the longer of the two
# (both sides then carry little padding when their lengths go together, as in translation).
BUCKET_SIDES = ("longer", "source", "target")


def _ragged(sequences: Sequence[Sequence[int]]) -> tf.RaggedTensor:
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    flat = np.fromiter((i for s in sequences for i in s), dtype=np.int32, count=int(lengths.sum()))
    return tf.RaggedTensor.from_row_lengths(flat, lengths)


def make_dataset(
    pairs: Sequence[Pair],
    source_vocab: Vocabulary,
    target_vocab: Vocabulary,
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
    src = _ragged([source_vocab.encode(s) for s, _ in pairs])
    tgt = _ragged([target_vocab.encode(t) for _, t in pairs])
    ds = tf.data.Dataset.from_tensor_slices((src, tgt))
    if shuffle:
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)

    start = tf.constant([START_ID], tf.int32)
    end = tf.constant([END_ID], tf.int32)

    def to_example(s: tf.Tensor, t: tf.Tensor):
        return {SOURCE_KEY: s, TARGET_IN_KEY: tf.concat([start, t], 0)}, tf.concat([t, end], 0)

    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if bucket_width:
        if bucket_by not in BUCKET_SIDES:
            raise ValueError(f"bucket_by must be one of {BUCKET_SIDES}, got {bucket_by!r}")
        # A source of n characters is n steps; a target of n characters is n + 1 (START/END).
        steps = {"source": lambda s, t: len(s), "target": lambda s, t: len(t) + 1}
        steps["longer"] = lambda s, t: max(len(s), len(t) + 1)
        lengths = [steps[bucket_by](s, t) for s, t in pairs]
        boundaries = list(range(bucket_width + 1, max(lengths) + 1, bucket_width))

        def length(inputs, labels):
            source, target = tf.shape(inputs[SOURCE_KEY])[0], tf.shape(labels)[0]
            return {"source": source, "target": target}.get(bucket_by, tf.maximum(source, target))

        uppers = [b - 1 for b in boundaries] + [max(lengths)]
        sizes = [max(1, batch_tokens // u) if batch_tokens else batch_size for u in uppers]
        ds = ds.bucket_by_sequence_length(
            length, bucket_boundaries=boundaries, bucket_batch_sizes=sizes
        )
        # Bucket membership depends on length only, so every epoch has the same number of
        # batches; telling tf.data spares Keras a "ran out of data" warning.
        buckets = np.searchsorted(boundaries, lengths, side="right")
        counts = np.bincount(buckets, minlength=len(sizes))
        num_batches = int(sum(-(-int(n) // size) for n, size in zip(counts, sizes, strict=True)))
        ds = ds.apply(tf.data.experimental.assert_cardinality(num_batches))
        if shuffle:
            # Buckets flush their partial batches at the end of every pass, sorted by length:
            # without this, each epoch would end with a run of the longest (and smallest)
            # batches, which skews the weights the epoch ends with.
            ds = ds.shuffle(num_batches, seed=seed, reshuffle_each_iteration=True)
    else:
        ds = ds.padded_batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)
