"""The decode loop's controls (a length limit per input, n-gram blocking, a repetition
penalty) on a stub model with exact expected outputs, checked against a step-by-step oracle
that applies each rule literally, for greedy, beam and sampling, compiled, chunked and XLA."""

import math

import numpy as np
import pytest
import tensorflow as tf

from seq2seq.decoding import BeamSearch, GreedySearch, RandomSampling
from seq2seq.errors import Seq2SeqError
from seq2seq.options.decoding import LoopControls
from seq2seq.settings import DecodingSettings

END, A, B, C = 2, 4, 5, 6
VOCAB = 7
# The next token's probabilities given the last one (PAD, START, END, UNK, a, b, c).
TABLE = {
    1: [0, 0, 0.10, 0, 0.50, 0.30, 0.10],  # after START
    A: [0, 0, 0.10, 0, 0.45, 0.30, 0.15],
    B: [0, 0, 0.10, 0, 0.50, 0.25, 0.15],
    C: [0, 0, 0.20, 0, 0.40, 0.30, 0.10],
}


class BigramStub:
    """Next-token probabilities from the last token only (greedy alone never ends)."""

    target_vocab_size = source_vocab_size = VOCAB

    def encode(self, source):
        return {"last": tf.ones([tf.shape(source)[0]], tf.int32)}

    def step(self, tokens, state):
        rows = np.full((VOCAB, VOCAB), 1.0 / VOCAB, np.float32)
        for token, probs in TABLE.items():
            rows[token] = probs
        return tf.gather(tf.constant(rows), tokens), {"last": tokens}


def oracle_greedy(source_length: int, max_length: int, controls: LoopControls) -> list[int]:
    """Greedy decoding with each control applied literally, one token at a time."""
    limit = max_length
    if controls.max_length_ratio:
        scaled = math.ceil(controls.max_length_ratio * source_length) + controls.max_length_offset
        limit = min(max(scaled, 1), max_length)
    out, last = [], 1
    n = controls.no_repeat_ngram_size
    while len(out) < limit:
        scores = np.log(np.maximum(np.array(TABLE[last], np.float64), 1e-30))
        for v in range(VOCAB):
            if v in out:
                scores[v] *= controls.repetition_penalty
            grams = {tuple(out[i : i + n]) for i in range(len(out) - n + 1)} if n else set()
            if n and len(out) >= n - 1 and (*out[len(out) - n + 1 :], v) in grams:
                scores[v] = -1e9
        last = int(np.argmax(scores))
        out.append(last)
        if last == END:
            break
    return out


def _rows(hyps) -> list[list[int]]:
    """The first candidate of each input, up to END (PAD dropped)."""
    return [[int(t) for t in row[0] if t != 0] for row in hyps.ids]


def _sources(*lengths: int) -> np.ndarray:
    width = max(lengths)
    return np.array([[A] * n + [0] * (width - n) for n in lengths], np.int32)


@pytest.mark.parametrize(
    ("controls", "expected"),
    [
        (LoopControls(), [A] * 8),
        (LoopControls(no_repeat_ngram_size=1), [A, B, C, END]),
        (LoopControls(no_repeat_ngram_size=2), [A, A, B, A, C, A, END]),
        (LoopControls(no_repeat_ngram_size=3), [A, A, A, B, A, A, C, A]),
        (LoopControls(repetition_penalty=2.0), [A, B, A, A, A, A, A, A]),
    ],
)
def test_greedy_with_each_control_gives_the_exact_expected_tokens(controls, expected):
    hyps = GreedySearch(BigramStub())(_sources(2), max_length=8, controls=controls)
    assert _rows(hyps) == [expected] == [oracle_greedy(2, 8, controls)]


def test_each_input_stops_at_its_own_length_limit():
    search = GreedySearch(BigramStub())
    scaled = LoopControls(max_length_ratio=1.5)
    assert [len(r) for r in _rows(search(_sources(1, 3, 6), 8, controls=scaled))] == [2, 5, 8]
    shifted = LoopControls(max_length_ratio=0.5, max_length_offset=2)
    assert [len(r) for r in _rows(search(_sources(1, 3), 8, controls=shifted))] == [3, 4]


@pytest.mark.parametrize("jit_compile", [False, True])
def test_the_compiled_loop_matches_the_oracle_for_every_combination(jit_compile):
    search = GreedySearch(BigramStub(), jit_compile=jit_compile)
    lengths = (1, 2, 4, 7)
    for controls in (
        LoopControls(no_repeat_ngram_size=3),
        LoopControls(no_repeat_ngram_size=2, repetition_penalty=1.3),
        LoopControls(max_length_ratio=2.0, max_length_offset=1, no_repeat_ngram_size=3),
        LoopControls(max_length_ratio=1.0, repetition_penalty=2.0),
    ):
        found = _rows(search(_sources(*lengths), 12, controls=controls))
        assert found == [oracle_greedy(n, 12, controls) for n in lengths], controls


def test_chunked_greedy_carries_each_rows_limit_and_history_through_compaction():
    lengths = [1 + i % 9 for i in range(130)]  # >= compact_from: decoded in chunks
    controls = LoopControls(max_length_ratio=1.0, max_length_offset=2, no_repeat_ngram_size=2)
    found = _rows(GreedySearch(BigramStub())(_sources(*lengths), 16, controls=controls))
    assert found == [oracle_greedy(n, 16, controls) for n in lengths]


def test_a_chunk_runs_until_a_quarter_of_its_rows_finish_then_the_rest_is_compacted(monkeypatch):
    """256 rows: 64 end at step 8 (their limit), 192 at step 20. The first chunk runs past
    its 6 steps to step 8, where a quarter has finished; the 192 left (a size from the few
    the loop compiles) run to their end in one more chunk."""
    import seq2seq.decoding.search as search_module
    from seq2seq.decoding.compaction import stop_alive

    calls, chunks = [], search_module.decode_in_chunks

    def spied(first, loop, max_length, values):
        rows = int(first[0].tokens.shape[0])
        calls.append((0, int(first[2]), stop_alive(rows), rows))  # begin: encode, chunk 1

        def counted(t, budget, stop, state, *values):
            found = loop(t, budget, stop, state, *values)
            calls.append((int(t), int(found[2]), int(stop), int(state.tokens.shape[0])))
            return found

        return chunks(first, counted, max_length, values)

    monkeypatch.setattr(search_module, "decode_in_chunks", spied)
    lengths = [8 if i % 4 == 0 else 20 for i in range(256)]
    controls = LoopControls(max_length_ratio=1.0)
    found = _rows(GreedySearch(BigramStub())(_sources(*lengths), 30, controls=controls))
    assert found == [oracle_greedy(n, 30, controls) for n in lengths]
    # (first step, steps run, the unfinished rows at which it stops, rows): 192 rows stop
    # at 128, the most that compact into three quarters of them (144 would need 192)
    assert calls == [(0, 8, 192, 256), (8, 12, 128, 192)]


def test_sampling_among_the_top_one_obeys_the_controls_as_greedy_does():
    controls = LoopControls(no_repeat_ngram_size=2)
    hyps = RandomSampling(BigramStub())(_sources(2), 8, controls=controls, top_k=1, seed=3)
    assert _rows(hyps) == [[A, A, B, A, C, A, END]]


def test_beam_search_keeps_each_beam_under_the_limit_and_free_of_repeats():
    beam = BeamSearch(BigramStub())
    one = beam(_sources(1), 8, n_best=2, controls=LoopControls(max_length_ratio=1.0))
    assert [[int(t) for t in row] for row in one.ids[0]] == [[A], [B]]
    assert one.scores[0] == pytest.approx([math.log(0.5), math.log(0.3)], rel=1e-5)
    unique = beam(_sources(2), 8, n_best=3, beam_size=3,
                  controls=LoopControls(no_repeat_ngram_size=1))  # fmt: skip
    for row in unique.ids[0]:
        tokens = [int(t) for t in row if t != 0]
        assert tokens[-1] == END and len(set(tokens)) == len(tokens)


def test_controls_that_cannot_work_are_refused_in_one_line():
    cases = [
        ({"max_length_ratio": 0}, "decoding.max_length_ratio must be a positive number"),
        ({"max_length_offset": 2}, "set decoding.max_length_ratio too"),
        ({"no_repeat_ngram_size": -1}, "decoding.no_repeat_ngram_size must be 0 or a positive"),
        ({"repetition_penalty": 0}, "decoding.repetition_penalty must be a positive number"),
    ]
    for values, message in cases:
        with pytest.raises(Seq2SeqError, match=message):
            DecodingSettings.from_config({"name": "greedy", **values})


def test_a_forced_prefix_is_emitted_first_and_the_scores_cover_what_follows():
    greedy = GreedySearch(BigramStub())
    prefix = np.array([[C, C], [0, 0]], np.int32)  # the second input has none
    hyps = greedy(_sources(2, 2), 4, prefix_ids=prefix)
    assert _rows(hyps) == [[C, C, A, A], [A, A, A, A]]
    assert hyps.scores[0, 0] == pytest.approx(math.log(0.4) + math.log(0.45), rel=1e-5)
    beam = BeamSearch(BigramStub())(_sources(1), 3, n_best=2, beam_size=2, length_penalty=0.0,
                                    prefix_ids=np.array([[B]], np.int32))  # fmt: skip
    assert [[int(t) for t in row] for row in beam.ids[0]] == [[B, A, A], [B, A, B]]
    expected = [math.log(0.5) + math.log(0.45), math.log(0.5) + math.log(0.3)]
    assert beam.scores[0] == pytest.approx(expected, rel=1e-5)


def test_a_forced_prefix_wins_over_the_blocks_and_chunks_keep_each_rows_prefix():
    blocked = GreedySearch(BigramStub())(_sources(2), 4, prefix_ids=np.array([[A, A, A]]),
                                        controls=LoopControls(no_repeat_ngram_size=1))  # fmt: skip
    assert _rows(blocked) == [[A, A, A, B]]
    count = 130  # >= compact_from: decoded in chunks, compacted as rows finish
    prefixes = np.array([[C, B] if i % 3 == 0 else [B, 0] if i % 3 == 1 else [0, 0]
                         for i in range(count)], np.int32)  # fmt: skip
    lengths = [1 + i % 5 for i in range(count)]
    controls = LoopControls(max_length_ratio=1.0, max_length_offset=2)
    chunked = _rows(GreedySearch(BigramStub())(_sources(*lengths), 9, controls=controls,
                                                prefix_ids=prefixes))  # fmt: skip
    for i, row in enumerate(chunked):
        forced = [int(t) for t in prefixes[i] if t]
        assert row[: len(forced)] == forced and len(row) == lengths[i] + 2
        assert row[len(forced) :] == [A] * (len(row) - len(forced))


@pytest.mark.parametrize(
    ("rows", "stop"), [(1024, 768), (960, 704), (192, 128), (128, 64), (64, 32), (4, 2), (1, 0)]
)
def test_a_chunk_stops_at_the_most_rows_that_compact_into_three_quarters(rows, stop):
    from seq2seq.decoding.compaction import compact_size, stop_alive

    assert stop_alive(rows) == stop
    assert stop == 0 or compact_size(stop) <= rows * 3 // 4 < compact_size(stop + 1)
