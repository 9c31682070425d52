import numpy as np

from seq2seq.data.pipeline import SOURCE_KEY, TARGET_IN_KEY, make_dataset
from seq2seq.vocab import END_ID, PAD_ID, START_ID, Vocabulary

PAIRS = [("abc", "xy"), ("a", "yyyy"), ("abcabc", "x")]


def test_batches_are_teacher_forcing_pairs_padded_per_batch():
    src_vocab, tgt_vocab = (
        Vocabulary.build(s for s, _ in PAIRS),
        Vocabulary.build(t for _, t in PAIRS),
    )
    batches = list(make_dataset(PAIRS, src_vocab, tgt_vocab, batch_size=2))
    assert len(batches) == 2
    (inputs, labels), (inputs2, _) = batches
    src, tgt_in = inputs[SOURCE_KEY].numpy(), inputs[TARGET_IN_KEY].numpy()
    labels = labels.numpy()
    assert src.dtype == np.int32 and tgt_in.dtype == np.int32 and labels.dtype == np.int32
    # Padded to the longest sequence of this batch only.
    assert src.shape == (2, 3) and inputs2[SOURCE_KEY].shape == (1, 6)
    assert list(src[1]) == [*src_vocab.encode("a"), PAD_ID, PAD_ID]
    # Decoder input is START + target, label is target + END, both padded with PAD.
    assert list(tgt_in[0]) == [START_ID, *tgt_vocab.encode("xy"), PAD_ID, PAD_ID]
    assert list(labels[0]) == [*tgt_vocab.encode("xy"), END_ID, PAD_ID, PAD_ID]
    assert list(labels[1]) == [*tgt_vocab.encode("yyyy"), END_ID]


def test_shuffle_is_seeded_and_keeps_every_pair():
    pairs = [(f"s{i}", f"t{i}") for i in range(50)]
    v = Vocabulary.build(s + t for s, t in pairs)

    def order(seed):
        ds = make_dataset(pairs, v, v, batch_size=50, shuffle=True, seed=seed)
        return [v.decode(row) for row in next(iter(ds))[0][SOURCE_KEY].numpy()]

    assert order(1) == order(1)
    assert sorted(order(1)) == sorted(s for s, _ in pairs)
    assert order(1) != [s for s, _ in pairs]


def _one_pass(ds, pairs, vocab):
    """The batches of one pass as numpy ``(source, labels)``, after checking that the pass
    holds every pair exactly once and as many batches as the dataset's cardinality."""
    batches = [(inputs[SOURCE_KEY].numpy(), labels.numpy()) for inputs, labels in ds]
    seen = [vocab.decode(row) for src, _ in batches for row in src]
    assert sorted(seen) == sorted(s for s, _ in pairs)
    assert int(ds.cardinality()) == len(batches)  # known up front, the same every epoch
    return batches


def test_bucketing_groups_similar_lengths_and_keeps_every_pair():
    pairs = [("a" * n, "b" * (n % 5 + 1)) for n in range(1, 41)] * 3
    v = Vocabulary.build(s + t for s, t in pairs)
    ds = make_dataset(
        pairs, v, v, batch_size=8, shuffle=True, seed=0, bucket_width=4, bucket_by="source"
    )
    batches = _one_pass(ds, pairs, v)
    for src, _labels in batches:
        lengths = (src != PAD_ID).sum(axis=1)
        assert lengths.max() - lengths.min() < 4 + 1  # one bucket per batch
        assert src.shape[1] == lengths.max()  # padded to the batch's own longest
    assert sum(1 for _ in ds) == len(batches)


def test_bucketing_by_target_groups_similar_target_lengths():
    pairs = [("a" * (n % 7 + 1), "b" * n) for n in range(1, 41)] * 3
    v = Vocabulary.build(s + t for s, t in pairs)
    ds = make_dataset(
        pairs, v, v, batch_size=8, shuffle=True, seed=0, bucket_width=4, bucket_by="target"
    )
    for _src, labels in _one_pass(ds, pairs, v):
        lengths = (labels != PAD_ID).sum(axis=1)
        assert lengths.max() - lengths.min() < 4 + 1  # one target bucket per batch
        assert labels.shape[1] == lengths.max()


def test_an_unknown_bucket_side_is_refused():
    import pytest

    v = Vocabulary.build("ab")
    with pytest.raises(ValueError, match="bucket_by must be one of"):
        make_dataset([("a", "b")], v, v, batch_size=2, bucket_width=4, bucket_by="both")


def test_batch_tokens_sizes_batches_by_characters_and_keeps_every_pair():
    pairs = [("a" * n, "b" * n) for n in range(1, 41)] * 5
    v = Vocabulary.build(s + t for s, t in pairs)
    ds = make_dataset(
        pairs, v, v, batch_size=8, shuffle=True, seed=0, bucket_width=4,
        bucket_by="longer", batch_tokens=64,
    )  # fmt: skip
    for _src, labels in _one_pass(ds, pairs, v):
        longest = labels.shape[1]  # target + END: the longer side here
        assert labels.shape[0] * longest <= 64 or labels.shape[0] == 1


def test_shuffled_buckets_do_not_end_every_pass_with_the_flushed_partial_batches():
    pairs = [("a" * n, "b" * n) for n in range(1, 61) for _ in range(10)]  # 10 per length
    v = Vocabulary.build("ab")
    ds = make_dataset(pairs, v, v, batch_size=16, shuffle=True, seed=0, bucket_width=4)
    partial_positions = [
        [i for i, (_, labels) in enumerate(ds) if labels.shape[0] < 16] for _ in range(2)
    ]
    num_batches = int(ds.cardinality())
    for positions in partial_positions:
        # Every bucket of 40 pairs leaves a partial batch of 8; they must not all come last.
        assert len(positions) == 15
        assert positions != list(range(num_batches - 15, num_batches))
    assert partial_positions[0] != partial_positions[1]  # reshuffled every pass
