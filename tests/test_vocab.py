import json

import numpy as np
import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import RunDir
from seq2seq.vocab import (
    END_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    START_ID,
    UNK_ID,
    Vocabulary,
    pad_batch,
)
from seq2seq.vocab.store import read_run_vocab, read_vocabularies, write_run_vocab


def test_reserved_ids_come_first_and_characters_are_sorted():
    vocab = Vocabulary.build(["cab", "bad"])
    assert (PAD_ID, START_ID, END_ID, UNK_ID) == (0, 1, 2, 3)
    assert len(vocab) == len(SPECIAL_TOKENS) + 4
    assert vocab.characters == ["a", "b", "c", "d"]
    assert vocab.encode("a") == [4]


def test_encode_decode_round_trip_with_start_and_end():
    vocab = Vocabulary.build(["le 1er février 2026", "Nov. 28th"])
    text = "28 février"
    ids = vocab.encode(text, add_start=True, add_end=True)
    assert ids[0] == START_ID and ids[-1] == END_ID
    assert vocab.decode(ids) == text


def test_unknown_characters_map_to_unk_and_decode_as_replacement_char():
    vocab = Vocabulary.build(["abc"])
    assert vocab.encode("axé") == [vocab.encode("a")[0], UNK_ID, UNK_ID]
    assert vocab.unknown_characters("axéa") == ["x", "é"]
    assert vocab.decode([vocab.encode("a")[0], UNK_ID]) == "a\ufffd"


def test_decode_stops_at_end_and_skips_padding():
    vocab = Vocabulary.build(["ab"])
    a, b = vocab.encode("ab")
    assert vocab.decode([START_ID, a, PAD_ID, b, END_ID, a, a]) == "ab"


def test_decode_batch_is_decode_of_every_row():
    """The numpy lookup of a batch reads every id as decode does: END ends a row, PAD and
    START read as nothing, UNK, negative and out-of-range ids as U+FFFD."""
    import numpy as np

    vocab = Vocabulary(list("abc"))
    rows = np.array([[4, 5, 2, 6], [0, 1, 4, 0], [3, -1, 99, 6], [2, 4, 5, 6], [4, 4, 4, 4]])
    assert vocab.decode_batch(rows) == [vocab.decode(r) for r in rows]
    assert vocab.decode_batch(rows) == ["ab", "a", "\ufffd\ufffd\ufffdc", "", "aaaa"]
    random = np.random.default_rng(0).integers(-3, 12, (300, 9))
    assert vocab.decode_batch(random) == [vocab.decode(r) for r in random]
    assert vocab.decode_batch(np.zeros((2, 0), np.int32)) == ["", ""]


@pytest.mark.parametrize(
    "texts",
    [
        ["abc", "", "cab", "a"],
        ["axé", "\U0001f600b", "\ud800a", "a\x00b", "e\u0301", ""],  # astral, lone surrogate, NUL
        [""] * 3,
        [],
    ],
)
@pytest.mark.parametrize("characters", ["abc", "ab\x00\U0001f600", ""])
def test_encode_padded_is_encode_of_every_text(texts, characters):
    """numpy's lookup of a batch reads each text as encode does, whatever its characters
    (outside the vocabulary, astral, a lone surrogate, NUL), and names those it does not
    know, as the one-text path does."""
    from seq2seq.vocab.base import TokenVocabulary

    vocab = Vocabulary(list(characters))
    found = vocab.encode_padded(texts)
    assert found.rows() == [vocab.encode(t) for t in texts]
    assert found.lengths.tolist() == [len(vocab.encode(t)) for t in texts]
    assert found.ids.shape == (len(texts), max(map(len, texts), default=0))
    beyond = np.arange(found.ids.shape[1]) >= found.lengths[:, None]
    assert found.ids.dtype == np.int32 and (found.ids[beyond] == PAD_ID).all()
    assert found.unknown == {ch for t in texts for ch in vocab.unknown_characters(t)}
    one_by_one = TokenVocabulary.encode_padded(vocab, texts)  # the base class's path
    np.testing.assert_array_equal(found.ids, one_by_one.ids)
    assert found.unknown == one_by_one.unknown


def test_decode_batch_with_nul_in_the_vocabulary_is_decode_of_every_row():
    vocab = Vocabulary(["a", "\x00"])
    rows = np.array([[4, 5, 5, 2], [5, 4, 5, 5], [5, 1, 5, 0]])
    assert (
        vocab.decode_batch(rows)
        == [vocab.decode(r) for r in rows]
        == ["a\x00\x00", "\x00a\x00\x00", "\x00\x00"]
    )


def test_min_count_drops_rare_characters():
    vocab = Vocabulary.build(["aab"], min_count=2)
    assert "a" in vocab and "b" not in vocab


def test_save_load_round_trip_keeps_metadata(tmp_path):
    src, tgt = Vocabulary.build(["héllo wörld"]), Vocabulary.build(["2026-11-28"])
    run = RunDir(tmp_path)
    write_run_vocab(run, src, tgt, metadata={"max_target_length": 10})
    src2, tgt2, meta = read_run_vocab(run)
    path = run.vocab_file
    assert (src2, tgt2) == (src, tgt)
    assert meta["max_target_length"] == 10
    assert json.loads(path.read_text(encoding="utf-8"))["source"]["characters"][0] == " "


def test_load_missing_or_malformed_vocabulary_is_a_clear_error(tmp_path):
    with pytest.raises(Seq2SeqError, match="not found"):
        read_vocabularies(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"source": {"characters": []}}', encoding="utf-8")
    with pytest.raises(Seq2SeqError, match="malformed vocabulary file"):
        read_vocabularies(bad)


def test_pad_batch_right_pads_with_pad_id():
    assert pad_batch([[5], [5, 6, 7], []]) == [[5, 0, 0], [5, 6, 7], [0, 0, 0]]
