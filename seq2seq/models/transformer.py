"""The ``transformer`` family: an encoder of self-attention blocks and a decoder that keeps
a cache of its keys and values while decoding.

The decode loop's state (opaque to it, :mod:`seq2seq.models.base`) is
``(t, source_mask, per layer (self keys, self values, cross keys, cross values))``: the step
index ``[B]``, the source's real positions ``[B, S]``, the self-attention cache
``[B, L, H, D]`` preallocated for ``L`` steps, and the cross-attention keys and values of
the encoder's memory ``[B, S, H, D]``, computed once by ``encode``. A step writes one
position into the cache and attends to the positions up to it: O(L) per step, not a re-run
of the prefix.

Its oracle is that re-run: the state ``[memory, source, prefix]``, and each oracle step runs
the whole decoder over the prefix (no cache) and reads the last position. The contract
harness checks the cached step against it and against the training model.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from seq2seq.data.pipeline import SOURCE_KEY, TARGET_IN_KEY
from seq2seq.models.base import AttentionMap, Seq2SeqModel
from seq2seq.models.registry import FAMILIES
from seq2seq.models.transformer_layers import (
    PAD_ID,
    DecoderBlock,
    EncoderBlock,
    TokenPositions,
)
from seq2seq.options.model import TransformerOptions
from seq2seq.registry import make_options

#: What every block of a stack is built with (a stack's config adds its vocabulary and depth).
BLOCK_KEYS = ("units", "heads", "ff_units", "dropout", "attention_dropout")
ENCODER_STACK = "transformer_encoder"
DECODER_STACK = "transformer_decoder"


def _stack_config(options: TransformerOptions) -> dict[str, Any]:
    return {key: getattr(options, key) for key in BLOCK_KEYS}


@keras.saving.register_keras_serializable(package="seq2seq")
class TransformerEncoder(keras.layers.Layer):
    """Source ids ``[B, S]`` -> memory ``[B, S, units]`` (PAD positions: masked keys)."""

    def __init__(self, vocab_size: int, layers: int, **block: Any) -> None:
        kwargs = {k: block.pop(k) for k in list(block) if k not in BLOCK_KEYS}
        super().__init__(**kwargs)
        self.supports_masking = True
        self.config = {"vocab_size": int(vocab_size), "layers": int(layers), **block}
        units = int(block["units"])
        self.embedding = TokenPositions(vocab_size, units, block["dropout"], name="embedding")
        self.blocks = [EncoderBlock(**block, name=f"block_{i}") for i in range(layers)]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")

    def build(self, input_shape=None) -> None:
        self.embedding.build()
        for block in self.blocks:
            block.build()
        self.norm.build((None, None, self.config["units"]))
        self.built = True

    def compute_mask(self, inputs, previous_mask=None):
        return ops.not_equal(inputs, PAD_ID)  # the memory's PAD steps (a recurrent decoder's)

    def call(self, source, training=None, weights: bool = False):
        """The memory (and, with ``weights``, each block's ``[B, H, S, S]`` weights)."""
        mask = ops.expand_dims(ops.not_equal(source, PAD_ID), 1)  # [B, 1, S]: real keys
        x = self.embedding(source, training=training)
        found = []
        for block in self.blocks:
            x, probs = block(x, mask, training=training, weights=True)
            found.append(probs)
        return (self.norm(x), found) if weights else self.norm(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.config}


@keras.saving.register_keras_serializable(package="seq2seq")
class TransformerDecoder(keras.layers.Layer):
    """``(target_in [B, T], memory, source)`` -> probabilities ``[B, T, vocab]`` (teacher
    forcing, causal); :meth:`start` and :meth:`step` decode one token at a time."""

    def __init__(self, vocab_size: int, layers: int, **block: Any) -> None:
        kwargs = {k: block.pop(k) for k in list(block) if k not in BLOCK_KEYS}
        super().__init__(**kwargs)
        self.supports_masking = True  # the probabilities carry target_in's PAD mask (loss)
        self.config = {"vocab_size": int(vocab_size), "layers": int(layers), **block}
        units = int(block["units"])
        self.embedding = TokenPositions(vocab_size, units, block["dropout"], name="embedding")
        self.blocks = [DecoderBlock(**block, name=f"block_{i}") for i in range(layers)]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.output_layer = keras.layers.Dense(
            vocab_size, activation="softmax", dtype="float32", name="output"
        )

    def build(self, *shapes) -> None:
        self.embedding.build()
        for block in self.blocks:
            block.build()
        self.norm.build((None, None, self.config["units"]))
        self.output_layer.build((None, None, self.config["units"]))
        self.built = True

    def compute_mask(self, inputs, previous_mask=None):
        return ops.not_equal(inputs, PAD_ID)

    def _run(self, target_in, memory, source, training=None):
        """The blocks over every target position, and each block's ``(self, cross)``
        attention weights."""
        steps = ops.shape(target_in)[1]
        causal = ops.expand_dims(ops.arange(steps)[:, None] >= ops.arange(steps)[None, :], 0)
        cross_mask = ops.expand_dims(ops.not_equal(source, PAD_ID), 1)
        x = self.embedding(target_in, training=training)
        weights = []
        for block in self.blocks:
            cross = block.cross_attention.keys_values(memory)
            x, probs = block(x, cross, causal, cross_mask, training=training, weights=True)
            weights.append(probs)
        return self.output_layer(self.norm(x)), weights

    def call(self, target_in, memory, source, training=None):
        return self._run(target_in, memory, source, training)[0]

    def start(self, memory, source, capacity) -> tuple:
        """The decode state before the first step, with room for ``capacity`` steps."""
        batch = ops.shape(source)[0]
        heads = self.config["heads"]
        shape = (batch, capacity, heads, self.config["units"] // heads)
        layers = []
        for block in self.blocks:
            keys, values = block.cross_attention.keys_values(memory)
            empty = ops.zeros(shape, keys.dtype)
            layers.append((empty, empty, keys, values))
        return ops.zeros((batch,), "int32"), ops.not_equal(source, PAD_ID), tuple(layers)

    def step(self, tokens, state: tuple) -> tuple[Any, tuple]:
        """``[B]`` tokens at step ``t`` -> ``([B, vocab] probs, the state at t + 1)``."""
        t, source_mask, layers = state
        x = self.embedding(ops.expand_dims(tokens, 1), offset=t)
        cross_mask = ops.expand_dims(source_mask, 1)
        updated = []
        for block, (keys, values, cross_k, cross_v) in zip(self.blocks, layers, strict=True):
            x, (keys, values) = block.step(x, (keys, values), t, (cross_k, cross_v), cross_mask)
            updated.append((keys, values, cross_k, cross_v))
        probs = self.output_layer(self.norm(x))[:, 0]
        return probs, (t + 1, source_mask, tuple(updated))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.config}


@FAMILIES.register("transformer")
class TransformerSeq2Seq(Seq2SeqModel):
    """The Transformer encoder-decoder (``model=transformer``)."""

    keras_name = "seq2seq_transformer"
    options = TransformerOptions
    #: Its oracle state is the prefix re-run, not the cached state (see the module).
    oracle_shares_state = False
    contract_cases: ClassVar[dict[str, dict[str, Any]]] = {
        "one-layer": {"encoder_layers": 1, "decoder_layers": 1},
        "stacked": {"encoder_layers": 2, "decoder_layers": 3, "heads": 4},
    }

    def __init__(self, training: keras.Model) -> None:
        super().__init__(training, encoder=None, decoder_step=None)
        self.encoder_stack = training.get_layer(ENCODER_STACK)
        self.decoder_stack = training.get_layer(DECODER_STACK)

    @classmethod
    def build(cls, source_vocab_size: int, target_vocab_size: int, **options: Any):
        opts = make_options(TransformerOptions, "model", options)
        stack = _stack_config(opts)
        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        target_in = keras.Input(shape=(None,), dtype="int32", name=TARGET_IN_KEY)
        encoder = TransformerEncoder(source_vocab_size, opts.encoder_layers, **stack,
                                     name=ENCODER_STACK)  # fmt: skip
        decoder = TransformerDecoder(target_vocab_size, opts.decoder_layers, **stack,
                                     name=DECODER_STACK)  # fmt: skip
        probs = decoder(target_in, encoder(source), source)
        training = keras.Model(
            {SOURCE_KEY: source, TARGET_IN_KEY: target_in}, probs, name=cls.keras_name
        )
        model = cls(training)
        model.max_positions = opts.max_positions
        return model

    @classmethod
    def from_training_model(cls, training: keras.Model) -> TransformerSeq2Seq:
        return cls(training)

    #: The steps a state from :meth:`encode` has room for (``model.max_positions``).
    max_positions: int = asdict(TransformerOptions())["max_positions"]

    @property
    def source_vocab_size(self) -> int:
        return self.encoder_stack.config["vocab_size"]

    @property
    def target_vocab_size(self) -> int:
        return self.decoder_stack.config["vocab_size"]

    def encode(self, source):
        return self.decoding_state(source, self.max_positions)

    def decoding_state(self, source, max_length):
        source = ops.convert_to_tensor(source, "int32")
        memory = self.encoder_stack(source, training=False)
        return self.decoder_stack.start(memory, source, max_length)

    def step(self, tokens, state):
        return self.decoder_stack.step(ops.convert_to_tensor(tokens, "int32"), state)

    def reference_encode(self, source) -> list:
        source = ops.convert_to_tensor(source, "int32")
        memory = self.encoder_stack(source, training=False)
        return [memory, source, ops.zeros((ops.shape(source)[0], 0), "int32")]

    def reference_step(self, tokens, flat_state: list) -> tuple[Any, list]:
        """The whole decoder over the prefix and ``tokens`` (no cache); the last position."""
        memory, source, prefix = flat_state
        prefix = ops.concatenate([prefix, ops.convert_to_tensor(tokens, "int32")], axis=1)
        probs = self.decoder_stack(prefix, memory, source, training=False)
        return probs[:, -1], [memory, source, prefix]

    def alignments(self, source, target_in, layer: int = -1):
        """The cross-attention weights ``[B, T, S]`` of decoder block ``layer`` (the last by
        default), averaged over its heads."""
        source = ops.convert_to_tensor(source, "int32")
        memory = self.encoder_stack(source, training=False)
        target_in = ops.convert_to_tensor(target_in, "int32")
        _, weights = self.decoder_stack._run(target_in, memory, source, training=False)
        return ops.mean(weights[layer][1], axis=1)

    def attention_maps(self, source, target_in) -> list[AttentionMap]:
        """Each block's attention for one input: the encoder's self-attention, then per
        decoder block its (causal) self-attention and its cross-attention; heads averaged."""
        source = ops.convert_to_tensor(source, "int32")
        memory, encoder = self.encoder_stack(source, training=False, weights=True)
        target_in = ops.convert_to_tensor(target_in, "int32")
        _, decoder = self.decoder_stack._run(target_in, memory, source, training=False)

        def mean(probs) -> np.ndarray:
            return np.asarray(ops.mean(probs, axis=1))[0]

        found = [AttentionMap(f"encoder {b.name} self-attention", mean(w), "source", "source")
                 for b, w in zip(self.encoder_stack.blocks, encoder, strict=True)]  # fmt: skip
        for block, (own, cross) in zip(self.decoder_stack.blocks, decoder, strict=True):
            found.append(AttentionMap(f"decoder {block.name} self-attention", mean(own),
                                      "target", "target"))  # fmt: skip
            found.append(AttentionMap(f"decoder {block.name} cross-attention", mean(cross),
                                      "target", "source"))  # fmt: skip
        return found
