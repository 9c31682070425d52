"""The model contract's harness: checks every registered family and part must pass.

Cases come from the registries: each family, encoder and bridge declares tiny options in
its ``contract_cases``, and every case runs under every family, so registering a new part
is what puts it under test (``tests/test_families.py``). Each check raises
``AssertionError`` when the contract does not hold; ``tests/test_contract_teeth.py`` shows
that a family breaking it fails.

Models are tiny and their weights perturbed (large random offsets), so probabilities are
far from uniform and a wrong state or a wrong step shows in the numbers, not only in
arg-max choices.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from seq2seq.decoding import BeamSearch, GreedySearch, RandomSampling, greedy_decode_reference
from seq2seq.errors import Seq2SeqError
from seq2seq.export import export_translator
from seq2seq.models import (
    BRIDGES,
    DECODERS,
    ENCODERS,
    FAMILIES,
    CapabilityError,
    build_model,
    load_model,
)
from seq2seq.models.composed import ComposedSeq2Seq
from seq2seq.options.model import ModelOptions
from seq2seq.rundir import RunDir
from seq2seq.training import copy_weights, dtype_policy
from seq2seq.translation import Translator
from seq2seq.vocab import END_ID, PAD_ID, START_ID, Vocabulary, pad_batch

VOCAB = Vocabulary(list("abcdefghijkl"))  # 16 ids with the reserved ones
TINY = {"units": 8, "embedding_dim": 5, "heads": 2, "ff_units": 16}
ATOL = 1e-5


def tiny_options(family: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` over the tiny sizes that ``family``'s settings record has."""
    fields = {f.name for f in dataclasses.fields(FAMILIES.get(family).options)}
    return {**{k: v for k, v in TINY.items() if k in fields}, **options}


def composed_families() -> list[str]:
    """The families composed from the registered parts (the others bring their own)."""
    return [name for name, family in FAMILIES.items() if issubclass(family, ComposedSeq2Seq)]


def contract_cases() -> dict[str, tuple[str, dict[str, Any]]]:
    """``{case id: (family, options)}`` from every registered part's and family's
    ``contract_cases``.

    Every composed family runs the first case of every part; a part's further cases take
    those families in turn (so each runs once, and every family meets every part).
    """
    families = composed_families()
    cases = {}
    for part in [*ENCODERS, *BRIDGES, *DECODERS]:
        named = list(getattr(part, "contract_cases", {}).items())
        for family in families if named else []:
            cases[f"{family}-{named[0][0]}"] = (family, named[0][1])
        for k, (case, options) in enumerate(named[1:]):
            family = families[k % len(families)]
            cases[f"{family}-{case}"] = (family, options)
    for family_name, family in FAMILIES.items():
        for case, options in getattr(family, "contract_cases", {}).items():
            cases[f"{family_name}-{case}"] = (family_name, options)
    return cases


def part_signature(family: str, options: dict[str, Any]) -> set[str]:
    """What a case puts to work: its family, encoder and bridge (the registered parts) and
    the kind of decoder and encoder its options build."""
    if family not in composed_families():
        return {f"family={family}", *(f"{family}.{k}={v}" for k, v in sorted(options.items()))}
    o = ModelOptions(**tiny_options(family, options))
    return {
        f"family={family}", f"encoder={o.encoder}", f"bridge={o.bridge}",
        f"attention={o.attention}", f"input_feeding={o.input_feeding}",
        f"bidirectional={o.bidirectional}", f"stacked_decoder={o.decoder_layers > 1}",
        f"stacked_encoder={o.encoder_layers > 1}", f"one_hot={not o.embedding_dim}",
        f"keras_example={o.is_keras_example(family)}",
    }  # fmt: skip


def costly_cases(cases: dict[str, tuple[str, dict[str, Any]]]) -> list[str]:
    """The fewest cases (a greedy cover, deterministic) that between them show every value
    of every case's :func:`part_signature`: the costly checks (an XLA compile, a SavedModel
    export) run on these, once per registered part and kind of encoder and decoder, while
    every cheap check runs on every case."""
    signatures = {name: part_signature(*cases[name]) for name in sorted(cases)}
    left = set().union(*signatures.values())
    chosen = []
    while left:
        best = max(signatures, key=lambda name: len(signatures[name] & left))
        chosen.append(best)
        left -= signatures[best]
    return sorted(chosen)


def tiny_model(family: str, options: dict[str, Any], seed: int = 3, scale: float = 1.0):
    """A tiny model of ``family`` whose weights got seeded random offsets of ``scale``."""
    keras.utils.set_random_seed(seed)
    model = build_model(family, len(VOCAB), len(VOCAB), **tiny_options(family, options))
    rng = np.random.default_rng(seed)
    model.training.set_weights(
        [w + rng.normal(0.0, scale, w.shape).astype(w.dtype) for w in model.training.get_weights()]
    )
    return model


def sources(n: int = 6, seed: int = 0) -> np.ndarray:
    """``n`` right-padded rows of 1-8 real ids."""
    rng = np.random.default_rng(seed)
    rows = [list(rng.integers(4, len(VOCAB), size=rng.integers(1, 9))) for _ in range(n)]
    return np.asarray(pad_batch(rows), np.int32)


def _trim(row) -> list[int]:
    row = [int(t) for t in row]
    return row[: row.index(END_ID) + 1] if END_ID in row else row


def _assert_states_close(a: Any, b: Any, steps: int, what: str) -> None:
    """Equal states; tensors with a time axis are compared over the first ``steps``."""
    for i, (x, y) in enumerate(zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True)):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:  # [batch, time, ...]: the time axis grew with the padding
            x, y = x[:, :steps], y[:, :steps]
        # To the tensor's scale: a padded batch's products may be summed in another order
        # (oneDNN picks its kernel by shape), which moves float32 values in their last bits.
        scale = max(1.0, float(np.abs(y.astype(np.float32)).max(initial=0.0)))
        np.testing.assert_allclose(x.astype(np.float32), y.astype(np.float32),
                                   atol=ATOL * scale, err_msg=f"{what}: state {i}")  # fmt: skip


def _steps(model, state, tokens: np.ndarray) -> list[np.ndarray]:
    """Probabilities of ``model.step`` fed ``tokens[:, t]`` in turn."""
    found = []
    for t in range(tokens.shape[1]):
        probs, state = model.step(tf.constant(tokens[:, t]), state)
        found.append(np.asarray(probs))
    return found


def check_padding_invariance(model) -> None:
    """``encode(x)`` equals ``encode(x + PAD)`` and the row's encoding within a batch."""
    batch = sources()
    tokens = np.random.default_rng(1).integers(4, len(VOCAB), size=(1, 4)).astype(np.int32)
    tokens[:, 0] = START_ID
    for i, row in enumerate(batch):
        real = row[row != PAD_ID][None, :]
        padded = np.pad(real, ((0, 0), (0, 3)))
        alone, with_pad = model.encode(real), model.encode(padded)
        _assert_states_close(alone, with_pad, real.shape[1], f"row {i}: x vs x + PAD")
        in_batch = tf.nest.map_structure(lambda s, i=i: s[i : i + 1], model.encode(batch))
        _assert_states_close(alone, in_batch, real.shape[1], f"row {i}: alone vs in a batch")
        for t, (p, q) in enumerate(
            zip(_steps(model, alone, tokens), _steps(model, with_pad, tokens), strict=True)
        ):
            np.testing.assert_allclose(p, q, atol=ATOL, err_msg=f"row {i}: step {t} after PAD")


def check_step_equals_oracle(model) -> None:
    """``encode``/``step`` equal the oracle models in probabilities, and the training model's
    teacher-forced probabilities equal the oracle's step by step."""
    batch = sources()
    fast, oracle = model.encode(batch), model.reference_encode(batch)
    if model.oracle_shares_state:
        _assert_states_close(fast, oracle, batch.shape[1], "encode vs oracle")
    rng = np.random.default_rng(2)
    target_in = rng.integers(4, len(VOCAB), size=(len(batch), 5)).astype(np.int32)
    target_in[:, 0] = START_ID
    teacher = np.asarray(model.training({"source": batch, "target_in": target_in}, training=False))
    for t in range(target_in.shape[1]):
        probs, fast = model.step(tf.constant(target_in[:, t]), fast)
        ref, oracle = model.reference_step(target_in[:, t : t + 1], oracle)
        np.testing.assert_allclose(probs, ref, atol=ATOL, err_msg=f"step {t} vs oracle step")
        np.testing.assert_allclose(
            teacher[:, t], ref, atol=1e-4, err_msg=f"training model vs oracle at step {t}"
        )
        peak = np.asarray(probs).max(-1).mean()
        assert peak > 2 / len(VOCAB), f"probabilities near uniform ({peak:.3f})"


def check_search_rules_equal_oracle(model, max_length: int = 10) -> None:
    """Greedy, beam of width 1 and top-1 sampling equal the oracle's greedy loop; beam
    scores are the oracle's log-probabilities of the candidates."""
    batch = sources()
    expected = greedy_decode_reference(model, batch, max_length=max_length)
    greedy = GreedySearch(model)(batch, max_length=max_length)
    assert [_trim(r) for r in greedy.ids[:, 0]] == expected, "greedy"
    beam_search = BeamSearch(model)
    beam = beam_search(batch, max_length=max_length, beam_size=1, length_penalty=0.0)
    np.testing.assert_array_equal(beam.ids, greedy.ids, err_msg="beam of width 1")
    sampled = RandomSampling(model)(batch, max_length=max_length, top_k=1, seed=2)
    np.testing.assert_array_equal(sampled.ids, greedy.ids, err_msg="top-1 sampling")
    out = beam_search(batch[:3], max_length=6, n_best=2, beam_size=3, length_penalty=0.0)
    for b in range(3):
        for cand, score in zip(out.ids[b], out.scores[b], strict=True):
            state, prev, total = model.reference_encode(batch[b : b + 1]), START_ID, 0.0
            for tok in _trim(cand):
                probs, state = model.reference_step(np.array([[prev]], np.int32), state)
                total += float(np.log(np.asarray(probs)[0, tok]))
                prev = tok
            np.testing.assert_allclose(total, score, atol=1e-3, err_msg=f"beam score, row {b}")


def check_xla_search_equals_oracle(model, max_length: int = 10) -> None:
    """Greedy decoding compiled with XLA equals the oracle's greedy loop."""
    batch = sources()
    expected = greedy_decode_reference(model, batch, max_length=max_length)
    greedy = GreedySearch(model, jit_compile=True)(batch, max_length=max_length)
    assert [_trim(r) for r in greedy.ids[:, 0]] == expected, "greedy (XLA)"


def check_save_and_load(model, directory: Path) -> None:
    """``model.keras`` loads with ``safe_mode=True`` into the same family, same numbers."""
    RunDir(directory).save_model(model.training)
    loaded = load_model(directory / "model.keras")  # safe_mode=True
    assert type(loaded) is type(model), f"{type(loaded).__name__} != {type(model).__name__}"
    batch = sources()
    _assert_states_close(model.encode(batch), loaded.encode(batch), batch.shape[1], "loaded")
    a = GreedySearch(model)(batch, max_length=10).ids
    np.testing.assert_array_equal(GreedySearch(loaded)(batch, max_length=10).ids, a)


def check_bfloat16_twin(model, family: str, options: dict[str, Any]) -> None:
    """The family builds and runs under ``mixed_bfloat16``; its float32 twin (weights copied
    back) decodes exactly like the float32 model."""
    with dtype_policy("mixed_bfloat16"):
        low = build_model(family, len(VOCAB), len(VOCAB), **tiny_options(family, options))
    copy_weights(model, low)
    batch = sources()
    probs, _ = low.step(tf.fill([len(batch)], START_ID), low.encode(batch))
    assert np.isfinite(np.asarray(probs, np.float32)).all()
    twin = build_model(family, len(VOCAB), len(VOCAB), **tiny_options(family, options))
    copy_weights(low, twin)
    a = GreedySearch(model)(batch, max_length=10).ids
    np.testing.assert_array_equal(GreedySearch(twin)(batch, max_length=10).ids, a)


def check_export(model, directory: Path) -> None:
    """The SavedModel translates exactly as the :class:`Translator` does."""
    translator = Translator(model, VOCAB, VOCAB, max_output_length=10)
    inputs = ["abc", "", "lkjih gfedcba", "a", "xyz"]  # x, y, z: unknown characters
    exported = tf.saved_model.load(str(export_translator(translator, directory / "exported")))
    out = exported.signatures["serving_default"](tf.constant(inputs))
    found = [t.decode("utf-8") for t in out["translations"].numpy()]
    assert found == translator.translate(inputs)


def check_litert(model, directory: Path, beam: bool = True) -> bool:
    """The LiteRT file (builtin ops only), read back by the reference client, gives the
    :class:`Translator`'s candidates, greedy and (``beam``) beam with n-best; or the export
    is refused in one line. Returns whether the model converted."""
    from seq2seq.litert import litert_bytes, write_litert_files
    from seq2seq.litert_client import LiteRTTranslator
    from seq2seq.settings import DecodingSettings

    translator = Translator(model, VOCAB, VOCAB, max_output_length=10)
    inputs = ["abc", "", "lkjih gfedcba", "a", "xyz"]  # x, y, z: unknown characters
    beams = [DecodingSettings(name="beam", n_best=2, params=BeamSearch.params(beam_size=3))]
    for decoding in [DecodingSettings(), *beams[:beam]]:
        where = directory / decoding.name
        try:
            file = litert_bytes(translator, 10, decoding, None)
        except Seq2SeqError as exc:
            assert "\n" not in str(exc) and "LiteRT" in str(exc), str(exc)
            return False
        write_litert_files(where, translator, file, 10, decoding, None)
        found = LiteRTTranslator(where).candidates(inputs)
        expected = translator.candidates(inputs, **decoding.options())
        for got, want in zip(found, expected, strict=True):
            assert [c.text for c in got] == [c.text for c in want], decoding.name
            np.testing.assert_allclose([c.score for c in got], [c.score for c in want],
                                       atol=1e-4)  # fmt: skip
    return True


def check_capabilities(model) -> None:
    """Optional capabilities: present and right, or refused with a :class:`CapabilityError`
    (a one-line error for the user), never another exception."""
    batch = sources()
    weights = model.alignments(batch, np.ones((len(batch), 4), np.int32))
    if weights is not None:
        weights = np.asarray(weights)
        assert weights.shape == (len(batch), 4, batch.shape[1])
        np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
        assert np.all(weights[np.broadcast_to((batch == 0)[:, None, :], weights.shape)] < 1e-6)
    try:
        stack = model.recurrent_stack()
    except CapabilityError as exc:
        assert "\n" not in str(exc)
        return
    assert stack.encoder, "a recurrent stack lists its encoder layers"
    assert len(stack.starts) == len(stack.decoder)


def assert_fails(check, *args) -> str:
    """Runs a check that must fail; returns its message."""
    try:
        check(*args)
    except (AssertionError, Seq2SeqError) as exc:
        return str(exc)
    raise AssertionError(f"{check.__name__} passed on a model that breaks the contract")
