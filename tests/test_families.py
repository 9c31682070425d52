"""The model contract on every registered family and part (cases from ``tests/contract.py``).

A new family, encoder or bridge is tested by registering it with its ``contract_cases``.
Every check runs on every case, but the costly two (an XLA compile, a SavedModel export)
run on ``COSTLY``: the fewest cases that put every registered part and every kind of
encoder and decoder to work once.
"""

from functools import cache

import pytest

from tests import contract

CASES = contract.contract_cases()
IDS = sorted(CASES)
COSTLY = contract.costly_cases(CASES)


@cache
def _model(case: str):
    family, options = CASES[case]
    return contract.tiny_model(family, options)


def test_every_registered_part_contributes_cases():
    from seq2seq.models import BRIDGES, ENCODERS, FAMILIES

    assert {"lstm", "gru", "transformer"} <= set(FAMILIES.names())
    assert {"recurrent", "conv"} <= set(ENCODERS.names())
    for part in [*ENCODERS, *BRIDGES]:
        for case in part.contract_cases:  # each case runs, under some family
            assert any(c.endswith(f"-{case}") for c in CASES), case
        first = next(iter(part.contract_cases), None)
        for family in contract.composed_families():  # every composed family meets every part
            assert first is None or f"{family}-{first}" in CASES
    assert {"lstm-conv", "gru-conv", "gru-conv-luong", "lstm-keras-example-one-hot",
            "transformer-one-layer", "transformer-stacked"} <= set(CASES)  # fmt: skip


@pytest.mark.parametrize("case", IDS)
def test_encode_is_invariant_to_right_padding(case):
    contract.check_padding_invariance(_model(case))


@pytest.mark.parametrize("case", IDS)
def test_step_equals_the_oracle_in_probabilities(case):
    contract.check_step_equals_oracle(_model(case))


@pytest.mark.parametrize("case", IDS)
def test_compiled_search_rules_equal_the_oracle_loop(case):
    contract.check_search_rules_equal_oracle(_model(case))


@pytest.mark.parametrize("case", COSTLY)
def test_xla_compiled_greedy_equals_the_oracle_loop(case):
    contract.check_xla_search_equals_oracle(_model(case))


def test_the_costly_checks_cover_every_part_and_kind():
    """Each part and kind of a case shows up in a case that runs the costly checks."""
    everything = set().union(*(contract.part_signature(*CASES[c]) for c in IDS))
    covered = set().union(*(contract.part_signature(*CASES[c]) for c in COSTLY))
    assert covered == everything and len(COSTLY) < len(IDS)


@pytest.mark.parametrize("case", IDS)
def test_save_and_load_with_safe_mode(case, tmp_path):
    contract.check_save_and_load(_model(case), tmp_path)


@pytest.mark.parametrize("case", IDS)
def test_bfloat16_twin_decodes_like_float32(case):
    family, options = CASES[case]
    contract.check_bfloat16_twin(_model(case), family, options)


@pytest.mark.parametrize("case", COSTLY)
def test_saved_model_export_translates_like_the_translator(case, tmp_path):
    contract.check_export(_model(case), tmp_path)


#: LiteRT must hold the card's model and the Transformer; a composed recurrent model runs
#: Keras's RNN loop (TensorList ops) and is refused in one line. (A case of each, and beam
#: search on one: every LiteRT conversion costs seconds.)
LITERT = ["lstm-default", "transformer-one-layer"]


@pytest.mark.parametrize("case", [*LITERT, "lstm-conv"])
def test_litert_export_translates_like_the_translator_or_is_refused(case, tmp_path):
    converted = contract.check_litert(_model(case), tmp_path, beam=case == "lstm-default")
    assert converted == (case in LITERT)


@pytest.mark.parametrize("case", IDS)
def test_optional_capabilities_are_right_or_refused_in_one_line(case):
    contract.check_capabilities(_model(case))
