import numpy as np
import pytest

from seq2seq.decoding import BeamSearch, GreedySearch
from seq2seq.errors import Seq2SeqError
from tests.stub_model import A, B, StubModel, sources

END, PAD = 2, 0


def test_beam_finds_the_sequence_greedy_misses():
    out = BeamSearch(StubModel())(
        sources(A), max_length=4, n_best=2, beam_size=2, length_penalty=0.0
    )
    np.testing.assert_array_equal(out.ids[0], [[B, END, PAD, PAD], [A, A, A, A]])
    expected = [np.log(0.4 * 0.9), np.log(0.5 * 0.4**3)]
    np.testing.assert_allclose(out.scores[0], expected, atol=1e-5)


def test_length_penalty_divides_by_the_gnmt_factor():
    out = BeamSearch(StubModel())(
        sources(A), max_length=4, n_best=2, beam_size=2, length_penalty=1.0
    )
    short, long = np.log(0.4 * 0.9) / (7 / 6), np.log(0.5 * 0.4**3) / (9 / 6)
    np.testing.assert_array_equal(out.ids[0, 0], [B, END, PAD, PAD])
    np.testing.assert_allclose(out.scores[0], [short, long], atol=1e-5)


def test_beam_of_size_one_is_greedy():
    batch = sources(A, B, A)
    beam = BeamSearch(StubModel())(batch, max_length=5, beam_size=1)
    greedy = GreedySearch(StubModel())(batch, max_length=5)
    np.testing.assert_array_equal(beam.ids, greedy.ids)


def test_beam_reorders_the_opaque_state_with_its_hypotheses():
    # Row 0 must follow "b" (whose state has seen b) to END; row 1 ends at once.
    out = BeamSearch(StubModel())(sources(A, B), max_length=6, beam_size=3, length_penalty=0.0)
    np.testing.assert_array_equal(out.ids[:, 0, :2], [[B, END], [END, PAD]])


def test_defaults_and_checks_belong_to_the_rule():
    assert BeamSearch.params() == BeamSearch.Params(beam_size=5, length_penalty=0.6)
    with pytest.raises(Seq2SeqError, match=r"decoding\.beam_size must be a positive integer"):
        BeamSearch.params(beam_size=0)
    with pytest.raises(Seq2SeqError, match=r"decoding\.length_penalty must be 0 or a positive"):
        BeamSearch.params(length_penalty=-1)
    with pytest.raises(Seq2SeqError, match=r"decoding\.top_k does not apply to decoding=beam"):
        BeamSearch.params(top_k=3)
    assert BeamSearch.max_candidates(BeamSearch.params(beam_size=3)) == 3
