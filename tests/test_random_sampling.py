import numpy as np
import pytest

from seq2seq.decoding import GreedySearch, RandomSampling
from seq2seq.errors import Seq2SeqError
from tests.stub_model import A, B, StubModel, sources

END = 2


def test_top_k_1_is_greedy():
    batch = sources(A, B, A)
    sampled = RandomSampling(StubModel())(batch, max_length=5, top_k=1, seed=3)
    greedy = GreedySearch(StubModel())(batch, max_length=5)
    np.testing.assert_array_equal(sampled.ids, greedy.ids)
    np.testing.assert_allclose(sampled.scores, greedy.scores, rtol=1e-6)


def test_top_k_2_never_draws_the_third_token():
    # After START the two most probable tokens are a and b: END (0.1) is cut.
    out = RandomSampling(StubModel())(sources(*[A] * 64), max_length=1, top_k=2, seed=0)
    first = out.ids[:, 0, 0]
    assert set(first) == {A, B}


def test_the_same_seed_draws_the_same_tokens():
    batch = sources(*[A] * 16)
    sampler = RandomSampling(StubModel())
    a = sampler(batch, max_length=6, temperature=2.0, seed=7)
    b = sampler(batch, max_length=6, temperature=2.0, seed=7)
    np.testing.assert_array_equal(a.ids, b.ids)
    scores = []
    for row in a.ids[:, 0]:  # each score is the log-probability of the drawn tokens
        total, seen_b, prev = 0.0, False, 1
        for tok in row:
            if tok == 0:
                break
            table = (
                [0, 0, 0.9, 0, 0.05, 0.05]
                if seen_b or prev == B
                else ([0, 0, 0.1, 0, 0.5, 0.4] if prev == 1 else [0, 0, 0.3, 0, 0.4, 0.3])
            )
            seen_b = seen_b or prev == B
            total += np.log(table[tok])
            prev = tok
        scores.append(total)
    np.testing.assert_allclose(a.scores[:, 0], scores, atol=1e-5)


def test_a_row_that_has_seen_b_ends_for_almost_any_draw():
    out = RandomSampling(StubModel())(sources(B), max_length=3, top_k=1, seed=1)
    np.testing.assert_array_equal(out.ids[0, 0, :1], [END])


def test_parameters_are_checked_and_a_missing_seed_is_drawn():
    with pytest.raises(Seq2SeqError, match=r"decoding\.temperature must be a positive number"):
        RandomSampling.params(temperature=0)
    with pytest.raises(Seq2SeqError, match=r"decoding\.top_k must be 0"):
        RandomSampling.params(top_k=-1)
    assert isinstance(RandomSampling.params().seed, int)
    assert RandomSampling.params(seed=5).seed == 5
