"""Every number has both bounds, checked before any work: decoding lengths and widths,
seeds, model sizes, values read from a run's vocab.json, and the SavedModel's input rank."""

import json

import pytest
import tensorflow as tf

from seq2seq.decoding import MAX_LENGTH, MAX_WIDTH
from seq2seq.errors import Seq2SeqError
from seq2seq.export import export_run
from seq2seq.options.model import ModelOptions
from seq2seq.settings import DecodingSettings, inference_decoding, optional_seed
from seq2seq.translation import Translator


@pytest.mark.parametrize(
    "node, message",
    [
        ({"name": "greedy", "max_length": 4294967301}, f"max_length must be at most {MAX_LENGTH}"),
        ({"name": "greedy", "max_length": 2_000_000_000}, "at most"),
        ({"name": "beam", "beam_size": 2**32}, f"beam_size must be at most {MAX_WIDTH}"),
        ({"name": "beam", "beam_size": 2**31}, "at most"),
        ({"name": "beam", "beam_size": 4294967297, "n_best": 3}, "at most"),
        ({"name": "beam", "n_best": 2**40}, "n_best must be at most"),
        ({"name": "sample", "top_k": 2**32 + 1}, "top_k must be at most 2147483647"),
        ({"name": "sample", "temperature": 1e300}, "temperature must be at most"),
        ({"name": "beam", "length_penalty": 1e12}, "length_penalty must be at most"),
    ],
)
def test_decoding_numbers_beyond_their_bounds_are_refused(node, message):
    with pytest.raises(Seq2SeqError, match=message):
        DecodingSettings.from_config(node)


@pytest.mark.parametrize("seed", [-1, 8589934592, 2**32, "abc", 1.5, True])
def test_seeds_outside_0_to_2_32_are_refused(seed):
    with pytest.raises(Seq2SeqError, match="seed must be an integer from 0 to 4294967295"):
        optional_seed(seed)
    assert optional_seed(2**32 - 1) == 2**32 - 1


def test_a_seed_is_refused_with_greedy_decoding():
    with pytest.raises(Seq2SeqError, match="has no effect with decoding=greedy"):
        inference_decoding({"name": "greedy"}, 3)
    with pytest.raises(Seq2SeqError, match="seed must be"):
        inference_decoding({"name": "greedy"}, "abc")


@pytest.mark.parametrize(
    "options", [{"units": 100000}, {"embedding_dim": 10**6}, {"encoder_layers": 1000}]
)
def test_model_sizes_beyond_memory_are_refused(options):
    with pytest.raises(Seq2SeqError, match="must be at most"):
        ModelOptions(**options)


def test_the_translator_refuses_a_huge_max_length_and_batch(trained_run):
    translator = Translator.from_run_dir(trained_run)
    for kwargs, message in [
        ({"max_length": 10**8}, "max_length must be at most"),
        ({"batch_size": 2**40}, "batch_size must be at most"),
        ({"n_best": 0}, "n_best must be a positive integer"),
    ]:
        with pytest.raises(Seq2SeqError, match=message):
            translator.translate(["Nov 28, 2026"], **kwargs)


def _tampered(trained_run, tmp_path, value):
    run = tmp_path / "run"
    run.mkdir(parents=True)
    for name in ("model.keras", "config.yaml"):
        (run / name).write_bytes((trained_run / name).read_bytes())
    vocab = json.loads((trained_run / "vocab.json").read_text(encoding="utf-8"))
    vocab["max_target_length"] = value
    (run / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    return run


def test_a_tampered_vocab_length_is_capped_or_refused(trained_run, tmp_path):
    huge = _tampered(trained_run, tmp_path, 500_000_000)
    assert Translator.from_run_dir(huge).max_output_length == MAX_LENGTH
    bad = _tampered(trained_run, tmp_path / "b", "lots")
    with pytest.raises(Seq2SeqError, match="max_target_length must be a positive integer"):
        Translator.from_run_dir(bad)
    with pytest.raises(Seq2SeqError, match="max_target_length must be a positive integer"):
        Translator.from_run_dir(_tampered(trained_run, tmp_path / "c", 5e8))


def test_the_saved_model_refuses_a_2d_batch_and_a_huge_max_length(trained_run, tmp_path):
    with pytest.raises(Seq2SeqError, match="max_length must be at most"):
        export_run(trained_run, tmp_path / "huge", max_length=2**32 + 5)
    exported = tf.saved_model.load(str(export_run(trained_run, tmp_path / "exported")))
    serve = exported.signatures["serving_default"]
    assert serve(tf.constant(["Nov 28, 2026", "1999-01-02"]))["translations"].shape == (2,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not compatible"):
        serve(tf.constant([["Nov 28, 2026", "x"], ["y", "z"]]))


def test_one_seed_range_everywhere(trained_run):
    """Training, translation and sampling take the same seeds, [0, 2**32): the largest one
    samples (reproducibly), one more is refused with the same message everywhere."""
    from seq2seq.options.decoding import MAX_SEED, SamplingParams
    from seq2seq.translation import Translator

    translator = Translator.from_run_dir(trained_run)
    draws = [translator.translate(["Nov 28, 2026"], decoding="sample", seed=MAX_SEED,
                                  temperature=5.0) for _ in range(2)]  # fmt: skip
    assert draws[0] == draws[1]
    assert SamplingParams(seed=3.0).seed == 3
    for refused in (MAX_SEED + 1, -1, 2.5, "3"):
        with pytest.raises(Seq2SeqError, match=f"seed must be an integer from 0 to {MAX_SEED}"):
            SamplingParams(seed=refused)
        with pytest.raises(Seq2SeqError, match=f"seed must be an integer from 0 to {MAX_SEED}"):
            optional_seed(refused)
