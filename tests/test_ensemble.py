"""Ensemble decoding: the members' probabilities averaged, through the same model contract,
so every search rule and the SavedModel decode an ensemble unchanged."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.decoding import SEARCH_RULES, greedy_decode_reference
from seq2seq.errors import Seq2SeqError
from seq2seq.export import export_run
from seq2seq.models import build_model
from seq2seq.models.ensemble import Ensemble
from seq2seq.tasks.translate import translate
from seq2seq.translation import Translator
from tests.conftest import compose_config

SOURCE = np.array([[5, 6, 7, 8, 0], [9, 5, 0, 0, 0]], np.int32)


def _members():
    keras_seed = keras.utils.set_random_seed
    members = []
    for seed, options in ((1, {"units": 8}), (2, {"units": 6, "attention": "luong"})):
        keras_seed(seed)
        members.append(build_model("lstm", 12, 10, embedding_dim=4, **options))
    return members


def test_the_ensemble_step_is_the_mean_of_the_members_steps():
    members = _members()
    ensemble = Ensemble(members)
    state = ensemble.encode(tf.constant(SOURCE))
    tokens = tf.constant([1, 1], tf.int32)
    probs, _ = ensemble.step(tokens, state)
    expected = np.mean([m.step(tokens, m.encode(tf.constant(SOURCE)))[0] for m in members], 0)
    np.testing.assert_allclose(probs.numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("rule, params", [("greedy", {}), ("beam", {"beam_size": 1}),
                                          ("sample", {"top_k": 1, "seed": 3})])  # fmt: skip
def test_every_search_rule_decodes_the_ensemble_as_its_averaged_oracle(rule, params):
    ensemble = Ensemble(_members())
    expected = greedy_decode_reference(ensemble, SOURCE, max_length=6)
    found = SEARCH_RULES.get(rule)(ensemble)(SOURCE, max_length=6, **params)
    for row, want in zip(found.ids[:, 0], expected, strict=True):
        got = list(row[: len(want)])
        assert got == list(want)


def test_members_of_different_vocabularies_are_refused():
    with pytest.raises(Seq2SeqError, match="must share their vocabularies"):
        Ensemble([build_model("lstm", 12, 10, units=4), build_model("lstm", 13, 10, units=4)])
    with pytest.raises(Seq2SeqError, match="at least two models"):
        Ensemble([build_model("lstm", 12, 10, units=4)])


def test_translate_and_export_take_run_dirs(trained_run, tmp_path, capsys):
    single = Translator.from_run_dir(trained_run).translate(["Nov 28, 2026", "1999-01-02"])
    both = Translator.from_run_dirs([trained_run, trained_run])
    assert isinstance(both.model, Ensemble)
    assert both.translate(["Nov 28, 2026", "1999-01-02"]) == single  # the mean of equals
    cfg = compose_config("translate", [f"run_dirs=[{trained_run},{trained_run}]",
                                       "inputs=['Nov 28, 2026']"])  # fmt: skip
    assert translate(cfg) == single[:1]
    exported = tf.saved_model.load(str(export_run([trained_run, trained_run], tmp_path / "e")))
    out = exported.signatures["serving_default"](tf.constant(["Nov 28, 2026", "1999-01-02"]))
    assert [t.decode() for t in out["translations"].numpy()] == single
    with pytest.raises(Seq2SeqError, match=r"either run_dir=\.\.\. or run_dirs"):
        translate(
            compose_config(
                "translate", [f"run_dir={trained_run}", f"run_dirs=[{trained_run}]", "inputs=[x]"]
            )
        )
