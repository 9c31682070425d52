import keras
import numpy as np

from seq2seq.decoding import GreedyDecoder, greedy_decode_reference
from seq2seq.model import build_seq2seq
from seq2seq.translation import Translator
from seq2seq.vocab import END_ID, pad_batch


def _trim(row):
    row = list(row)
    # After END a row is PAD-filled; a row without END ran every step.
    return row[: row.index(END_ID) + 1] if END_ID in row else row


def test_compiled_greedy_equals_step_by_step_oracle():
    keras.utils.set_random_seed(4)
    model = build_seq2seq(20, 10, units=12, embedding_dim=5)
    rng = np.random.default_rng(0)
    sources = [list(rng.integers(4, 20, size=rng.integers(1, 9))) for _ in range(12)]
    batch = np.asarray(pad_batch(sources), np.int32)
    decoder = GreedyDecoder(model)
    got = decoder(batch, max_length=15)
    expected = greedy_decode_reference(model, batch, max_length=15)
    assert [_trim(row) for row in got] == expected


def test_greedy_on_a_trained_run_equals_oracle(trained_run):
    translator = Translator.from_run_dir(trained_run)
    texts = ["Nov 28, 2026", "le 1er mai 1999", "04.07.1950", "SATURDAY 3RD MAY 1902"]
    batch = np.asarray(pad_batch([translator.source_vocab.encode(t) for t in texts]), np.int32)
    oracle = greedy_decode_reference(translator.model, batch, max_length=22)
    expected = [translator.target_vocab.decode(ids) for ids in oracle]
    assert translator.translate(texts, max_length=22) == expected
    assert translator.translate(texts, batch_size=1, max_length=22) == expected


def test_new_max_length_or_batch_shape_does_not_retrace():
    keras.utils.set_random_seed(5)
    decoder = GreedyDecoder(build_seq2seq(10, 8, units=4, embedding_dim=3))
    decoder(np.full((2, 3), 5, np.int32), max_length=4)
    decoder(np.full((5, 7), 6, np.int32), max_length=9)
    decoder(np.full((1, 1), 7, np.int32), max_length=1)
    assert decoder._decode.experimental_get_tracing_count() == 1


def test_output_is_capped_at_max_length():
    keras.utils.set_random_seed(6)
    decoder = GreedyDecoder(build_seq2seq(10, 8, units=4, embedding_dim=3))
    out = decoder(np.full((3, 4), 5, np.int32), max_length=3)
    assert out.shape[0] == 3 and out.shape[1] <= 3
