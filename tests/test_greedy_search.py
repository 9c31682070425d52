import numpy as np
import pytest

from seq2seq.decoding import GreedySearch
from tests.stub_model import A, B, StubModel, sources


def test_greedy_takes_the_most_probable_token_at_every_step():
    out = GreedySearch(StubModel())(sources(A), max_length=4)
    np.testing.assert_array_equal(out.ids, [[[A, A, A, A]]])
    assert out.scores[0, 0] == pytest.approx(np.log(0.5) + 3 * np.log(0.4), abs=1e-5)


def test_greedy_stops_a_row_at_end_and_pads_it():
    out = GreedySearch(StubModel())(sources(A, B), max_length=4)
    np.testing.assert_array_equal(out.ids[:, 0], [[A, A, A, A], [2, 0, 0, 0]])
    assert out.scores[1, 0] == pytest.approx(np.log(0.9), abs=1e-6)


def test_greedy_stops_early_when_every_row_has_ended():
    out = GreedySearch(StubModel())(sources(B, B), max_length=50)
    np.testing.assert_array_equal(out.ids[:, 0], [[2], [2]])


def test_chunked_compaction_gives_the_same_outputs(monkeypatch):
    batch = sources(A, B, A, B, B, A, B)
    single = GreedySearch(StubModel())(batch, max_length=7)
    monkeypatch.setattr(GreedySearch, "compact_from", 2)
    monkeypatch.setattr(GreedySearch, "chunk_steps", 1)
    chunked = GreedySearch(StubModel())(batch, max_length=7)
    np.testing.assert_array_equal(chunked.ids, single.ids)
    np.testing.assert_allclose(chunked.scores, single.scores, rtol=1e-6)
    assert [list(row[0, :1]) for row in chunked.ids] == [[A], [2], [A], [2], [2], [A], [2]]
