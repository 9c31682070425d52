"""A new search rule is one module (its ``Params`` declared, the rule registered) plus one YAML:
translate, the service and export then take it with no list edited anywhere else."""

from dataclasses import dataclass

import pytest
import tensorflow as tf
from fastapi.testclient import TestClient

from seq2seq.decoding import SEARCH_RULES, SearchRule
from seq2seq.export import export_decoding
from seq2seq.options.decoding import RULE_PARAMS
from seq2seq.serving import create_app
from seq2seq.settings import DecodingSettings
from seq2seq.translation import Translator


@dataclass(frozen=True)
class CautiousParams:
    """A parameter the rule takes (and ignores: the rule is greedy search by another name)."""

    caution: float = 0.5


@pytest.fixture
def cautious(monkeypatch):
    """What the new rule's module does at import: declare its Params, register the rule."""
    monkeypatch.setitem(RULE_PARAMS, "cautious", CautiousParams)

    @SEARCH_RULES.register("cautious")
    class CautiousSearch(SearchRule):
        Params = CautiousParams

        def select(self, log_probs, scores, step, caution):
            best = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
            return best, tf.zeros_like(best), scores + tf.gather(log_probs, best, batch_dims=2)

    yield CautiousSearch
    SEARCH_RULES.unregister("cautious")


INPUTS = ["Nov 28, 2026", "le 1er mai 1999"]


def test_a_new_rule_is_taken_by_translate_the_service_and_export(cautious, trained_run):
    translator = Translator.from_run_dir(trained_run)
    greedy = translator.translate(INPUTS)
    assert translator.translate(INPUTS, decoding="cautious", caution=0.9) == greedy
    with TestClient(create_app(translator, {})) as client:
        answer = client.post("/translate", json=[{"src": s, "decoding": "cautious",
                                                  "caution": 0.9} for s in INPUTS])  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert [a["tgt"] for a in answer.json()] == greedy
    settings = DecodingSettings.from_config({"name": "cautious", "caution": 0.9})
    assert export_decoding(settings).name == "cautious"
    cautious.exportable = False
    with pytest.raises(Exception, match="decoding=cautious cannot be exported"):
        export_decoding(settings)


def test_its_config_node_comes_from_its_record(cautious):
    from seq2seq.options.decoding import decoding_config_nodes

    assert decoding_config_nodes()["cautious"] == {
        "name": "cautious", "max_length": None, "jit_compile": False, "n_best": 1,
        "max_length_ratio": None, "max_length_offset": 0, "no_repeat_ngram_size": 0,
        "repetition_penalty": 1.0, "caution": 0.5,
    }  # fmt: skip


def test_a_record_annotated_with_types_not_strings_is_typed_the_same():
    """``CautiousParams`` (this module has no ``from __future__ import annotations``) and
    the project's records (which have) give the same number kinds and tensor dtypes."""
    from seq2seq.decoding.search import param_dtypes
    from seq2seq.options.decoding import BeamParams
    from seq2seq.registry import number_kinds, typed_values

    assert number_kinds(CautiousParams) == {"caution": float}
    assert number_kinds(BeamParams) == {"beam_size": int, "length_penalty": float}
    assert param_dtypes(CautiousParams) == {"caution": tf.float32}
    assert typed_values(CautiousParams, {"caution": 1}) == {"caution": 1.0}
