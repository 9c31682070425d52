"""The contract harness has teeth: a family that breaks the contract fails it.

The broken family is the conv encoder as first written: its ``same`` convolutions saw the
PAD embeddings, so a sentence encoded differently alone and in a batch with longer ones.
"""

from typing import Any, ClassVar

import keras
import pytest

from seq2seq.models import ENCODERS
from seq2seq.models.encoders.conv import ConvBlock, ConvEncoder, MaskedMean
from seq2seq.models.io import SOURCE_EMBEDDING, token_layer
from tests import contract


@keras.saving.register_keras_serializable(package="seq2seq_tests")
class LeakyConvBlock(ConvBlock):
    """A convolution block that lets PAD embeddings into its ``same`` convolution."""

    def masked_input(self, inputs, source):
        return inputs


class LeakyConvEncoder(ConvEncoder):
    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def create(cls, spec):
        opts = spec.options
        blocks = [
            LeakyConvBlock(opts.units, opts.kernel_size, name=f"encoder_conv_{i + 1}")
            for i in range(opts.encoder_layers)
        ]
        embedding = token_layer(spec.source_vocab_size, opts.embedding_dim, SOURCE_EMBEDDING)
        return cls(embedding, blocks, MaskedMean(name="encoder_conv_summary"))


@pytest.fixture
def leaky_model():
    ENCODERS.register("leaky_conv")(LeakyConvEncoder)
    try:
        yield contract.tiny_model("lstm", {"encoder": "leaky_conv", "bridge": "dense"})
    finally:
        ENCODERS.unregister("leaky_conv")


def test_a_padding_sensitive_encoder_fails_the_padding_check(leaky_model):
    message = contract.assert_fails(contract.check_padding_invariance, leaky_model)
    assert "x vs x + PAD" in message


def test_a_padding_sensitive_encoder_fails_the_oracle_loop_check(leaky_model):
    # The oracle decodes each sentence alone; the compiled loop decodes the padded batch.
    contract.assert_fails(contract.check_search_rules_equal_oracle, leaky_model)


def test_the_same_encoder_with_its_padding_zeroed_passes():
    contract.check_padding_invariance(
        contract.tiny_model("lstm", {"encoder": "conv", "bridge": "dense"})
    )


def test_a_step_that_is_not_the_oracle_step_fails(monkeypatch):
    model = contract.tiny_model("lstm", {})
    fast_step = type(model).step

    def off_by_a_little(self, tokens, state):
        probs, state = fast_step(self, tokens, state)
        return probs * 0.999 + 0.001 / probs.shape[-1], state

    monkeypatch.setattr(type(model), "step", off_by_a_little)
    message = contract.assert_fails(contract.check_step_equals_oracle, model)
    assert "vs oracle step" in message


class _ForgetfulDecoderBlock:
    """Wraps a Transformer decoder block: its step writes into the cache but attends only to
    the newest position (a cache that is never read)."""

    def __init__(self, block):
        self.block = block

    def __getattr__(self, name):
        return getattr(self.block, name)

    def __call__(self, *args, **kwargs):
        return self.block(*args, **kwargs)

    def step(self, x, cache, t, cross, cross_mask):
        from keras import ops

        out, (keys, values) = self.block.step(x, cache, ops.zeros_like(t), cross, cross_mask)
        return out, (keys, values)


def test_a_transformer_step_that_ignores_its_cache_fails_the_oracle_check():
    model = contract.tiny_model("transformer", {"encoder_layers": 1, "decoder_layers": 1})
    contract.check_step_equals_oracle(model)  # as built, it holds
    stack = model.decoder_stack
    stack.blocks = [_ForgetfulDecoderBlock(b) for b in stack.blocks]
    message = contract.assert_fails(contract.check_step_equals_oracle, model)
    assert "vs oracle step" in message
