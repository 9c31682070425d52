"""A new decoder part is one registered class: the model composes it when the settings select
it, finds it again by its layer names in a saved model, and the contract checks hold, with
no edit of ``composed.py`` or ``families.py``."""

import keras
import pytest

from seq2seq.models import build_model
from seq2seq.models.decoders import RecurrentDecoder
from seq2seq.models.registry import DECODERS
from tests import contract

NAME = "decoder_plain_lstm"


@pytest.fixture
def plain_decoder(monkeypatch):
    """A one-layer LSTM decoder without attention under a layer name of its own, selected by
    ``decoder_layers=3`` (which the recurrent decoder then leaves to it)."""

    @DECODERS.register("plain")
    class PlainDecoder(RecurrentDecoder):
        @classmethod
        def selected_by(cls, options):
            return options.decoder_layers == 3 and not options.attention

        @classmethod
        def create(cls, spec, width):
            made = RecurrentDecoder.create(spec, width)
            layer = keras.layers.LSTM(width, return_sequences=True, return_state=True, name=NAME)
            return cls(spec.cell, made.embedding, [layer], None, None, made.output)

        @classmethod
        def find(cls, by_name):
            if NAME not in by_name:
                return None
            return cls("lstm", by_name["target_embedding"], [by_name[NAME]], None, None,
                       by_name["output"])  # fmt: skip

    recurrent = RecurrentDecoder.selected_by.__func__

    def leaves_three_layers(cls, options):
        return recurrent(cls, options) and options.decoder_layers != 3

    monkeypatch.setattr(RecurrentDecoder, "selected_by", classmethod(leaves_three_layers))
    yield PlainDecoder
    DECODERS.unregister("plain")


def test_a_registered_decoder_is_composed_found_again_and_meets_the_contract(
    plain_decoder, tmp_path
):
    model = contract.tiny_model("lstm", {"decoder_layers": 3, "bridge": "dense"})
    assert type(model.parts.decoder) is plain_decoder
    assert NAME in {layer.name for layer in model.training.layers}
    contract.check_step_equals_oracle(model)
    contract.check_search_rules_equal_oracle(model)
    contract.check_save_and_load(model, tmp_path)


def test_settings_that_select_no_decoder_or_two_are_one_line(plain_decoder, monkeypatch):
    from seq2seq.errors import Seq2SeqError

    monkeypatch.setattr(plain_decoder, "selected_by", classmethod(lambda c, o: True))
    with pytest.raises(Seq2SeqError, match="select one decoder, not plain, recurrent"):
        build_model("lstm", 16, 16, units=8)
