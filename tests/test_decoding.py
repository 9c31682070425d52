import keras
import numpy as np
import pytest

from seq2seq.decoding import (
    BeamSearch,
    GreedySearch,
    RandomSampling,
    greedy_decode_reference,
)
from seq2seq.models import build_model
from seq2seq.options.decoding import LoopControls
from seq2seq.translation import Translator
from seq2seq.vocab import END_ID, pad_batch


def _trim(row):
    row = list(row)
    # After END a row is PAD-filled; a row without END ran every step.
    return row[: row.index(END_ID) + 1] if END_ID in row else row


def test_compiled_greedy_equals_step_by_step_oracle():
    keras.utils.set_random_seed(4)
    model = build_model("lstm", 20, 10, units=12, embedding_dim=5)
    rng = np.random.default_rng(0)
    sources = [list(rng.integers(4, 20, size=rng.integers(1, 9))) for _ in range(12)]
    batch = np.asarray(pad_batch(sources), np.int32)
    decoder = GreedySearch(model)
    got = decoder(batch, max_length=15).ids[:, 0]
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
    decoder = GreedySearch(build_model("lstm", 10, 8, units=4, embedding_dim=3))
    decoder(np.full((2, 3), 5, np.int32), max_length=4)
    decoder(np.full((5, 7), 6, np.int32), max_length=9)
    decoder(np.full((1, 1), 7, np.int32), max_length=1)
    assert decoder._decode[True].experimental_get_tracing_count() == 1  # lean: no controls
    for n in (2, 3):  # the loop with the controls that read the history: traced once more
        decoder(
            np.full((2, 3), 5, np.int32),
            max_length=4,
            controls=LoopControls(no_repeat_ngram_size=n),
        )
    assert decoder._decode[False].experimental_get_tracing_count() == 1


def test_output_is_capped_at_max_length():
    keras.utils.set_random_seed(6)
    decoder = GreedySearch(build_model("lstm", 10, 8, units=4, embedding_dim=3))
    out = decoder(np.full((3, 4), 5, np.int32), max_length=3).ids
    assert out.shape[:2] == (3, 1) and out.shape[2] <= 3


def _random_model(seed=7):
    keras.utils.set_random_seed(seed)
    return build_model("lstm", 20, 10, units=12, embedding_dim=5)


def _sources(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(
        pad_batch([list(rng.integers(4, 20, size=rng.integers(1, 9))) for _ in range(n)]), np.int32
    )


def test_beam_of_size_one_equals_greedy():
    model, batch = _random_model(), _sources()
    greedy = GreedySearch(model)(batch, max_length=12)
    beam = BeamSearch(model)(batch, max_length=12, beam_size=1, length_penalty=0.0)
    np.testing.assert_array_equal(beam.ids, greedy.ids)
    np.testing.assert_allclose(beam.scores, greedy.scores, rtol=1e-5)


def test_beam_returns_n_best_sorted_distinct_candidates():
    model, batch = _random_model(), _sources()
    out = BeamSearch(model)(batch, max_length=12, n_best=3, beam_size=5)
    assert out.ids.shape[:2] == (len(batch), 3) and out.scores.shape == (len(batch), 3)
    assert np.all(np.diff(out.scores, axis=1) <= 1e-6)
    for row in out.ids:
        assert len({tuple(_trim(c)) for c in row}) == 3


def test_beam_scores_are_the_log_probabilities_of_their_tokens():
    model, batch = _random_model(), _sources(n=3)
    out = BeamSearch(model)(batch, max_length=6, n_best=2, beam_size=4, length_penalty=0.0)
    for b in range(len(batch)):
        for cand, score in zip(out.ids[b], out.scores[b], strict=True):
            tokens = _trim(cand)
            state = model.reference_encode(batch[b : b + 1])
            total, prev = 0.0, 1
            for tok in tokens:
                probs, state = model.reference_step(keras.ops.convert_to_tensor([[prev]]), state)
                total += float(np.log(np.asarray(probs)[0, tok]))
                prev = tok
            assert total == pytest.approx(score, abs=1e-3)


def test_sampling_is_reproducible_for_a_seed_and_top_k_1_is_greedy():
    model, batch = _random_model(), _sources()
    sampler = RandomSampling(model)
    a = sampler(batch, max_length=12, temperature=2.0, seed=1).ids
    b = sampler(batch, max_length=12, temperature=2.0, seed=1).ids
    c = sampler(batch, max_length=12, temperature=2.0, seed=2).ids
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    greedy = GreedySearch(model)(batch, max_length=12).ids
    np.testing.assert_array_equal(sampler(batch, max_length=12, top_k=1, seed=3).ids, greedy)


def test_new_temperatures_beam_sizes_and_seeds_do_not_retrace():
    model, batch = _random_model(), _sources()
    sampler, beam = RandomSampling(model), BeamSearch(model)
    for i, temperature in enumerate((0.5, 1.0, 1.7)):
        sampler(batch[: i + 2], max_length=5 + i, temperature=temperature, top_k=i, seed=i)
        beam(batch[: i + 2], max_length=5 + i, beam_size=i + 1, length_penalty=0.2 * i)
    assert sampler._decode[True].experimental_get_tracing_count() == 1
    assert beam._decode[True].experimental_get_tracing_count() == 1


def test_xla_compiled_loops_match_the_plain_graph():
    model, batch = _random_model(seed=11), _sources(n=12, seed=3)
    plain = GreedySearch(model)(batch, max_length=12)
    xla = GreedySearch(model, jit_compile=True)(batch, max_length=12)
    np.testing.assert_array_equal(xla.ids, plain.ids)
    expected = greedy_decode_reference(model, batch, max_length=12)
    assert [_trim(row) for row in xla.ids[:, 0]] == expected
    beam = BeamSearch(model, jit_compile=True)
    beam_out = beam(batch, max_length=12, beam_size=1)
    np.testing.assert_array_equal(beam_out.ids, plain.ids)
    assert beam(batch, max_length=12, beam_size=3, n_best=3).ids.shape[:2] == (12, 3)
    sampler = RandomSampling(model, jit_compile=True)
    a = sampler(batch, max_length=12, temperature=1.5, seed=4).ids
    np.testing.assert_array_equal(a, sampler(batch, max_length=12, temperature=1.5, seed=4).ids)


def test_translator_output_does_not_depend_on_xla(trained_run):
    translator = Translator.from_run_dir(trained_run)
    texts = ["Nov 28, 2026", "", "le 1er mai 1999", "04.07.1950", "x" * 40]
    assert translator.translate(texts, jit_compile=True) == translator.translate(texts)


def test_chunked_compacting_greedy_equals_the_single_loop(monkeypatch):
    model = _random_model(seed=12)
    batch = _sources(n=40, seed=5)
    single = GreedySearch(model)(batch, max_length=30)  # 40 < compact_from: one loop
    monkeypatch.setattr(GreedySearch, "compact_from", 2)
    monkeypatch.setattr(GreedySearch, "chunk_steps", 3)
    for jit in (False, True):
        chunked = GreedySearch(model, jit_compile=jit)(batch, max_length=30)
        np.testing.assert_array_equal(chunked.ids, single.ids)
        np.testing.assert_allclose(chunked.scores, single.scores, rtol=1e-5)
