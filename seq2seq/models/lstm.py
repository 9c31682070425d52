"""The card's model: an LSTM encoder whose final ``[h, c]`` starts an LSTM decoder.

The training model (named ``seq2seq``, as before the model registry) wires named layers::

    source -> source_embedding -> encoder_lstm (return_state=True) --[h, c]--+
    target_in -> target_embedding -> decoder_lstm (return_sequences=True, initial_state) -> output

``output`` is ``TimeDistributed(Dense(vocab, softmax))``. The decode-loop state is ``[h, c]``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from seq2seq.data.pipeline import SOURCE_KEY, TARGET_IN_KEY
from seq2seq.errors import Seq2SeqError
from seq2seq.layers import OneHot, TimeDistributed
from seq2seq.models.base import RecurrentStack, Seq2SeqModel
from seq2seq.models.recurrent import RecurrentOptions, RecurrentSeq2Seq
from seq2seq.models.registry import register
from seq2seq.vocab import PAD_ID

SOURCE_EMBEDDING = "source_embedding"
TARGET_EMBEDDING = "target_embedding"
ENCODER_LSTM = "encoder_lstm"
DECODER_LSTM = "decoder_lstm"
OUTPUT_LAYER = "output"


def _input_projection(embed: keras.layers.Layer, cell, tokens):
    """``embed(tokens) @ cell.kernel``; for one-hot inputs, the kernel rows the ids select.

    Selecting a row gives exactly the numbers the one-hot product gives (every other term is
    an exact zero), without the ``vocab x 4 * units`` multiplications.
    """
    if isinstance(embed, OneHot):
        return ops.take(cell.kernel, ops.cast(tokens, "int32"), axis=0)
    return ops.matmul(embed.call(tokens), cell.kernel)  # .call: no mask attached


def _lstm_cell(cell, projected, h, c):
    """One step of a Keras ``LSTMCell`` (``implementation=2``, no dropout), from the
    already-projected input ``x @ kernel``, in the cell's own order of operations.

    ``h=None`` stands for a zero state, whose recurrent product (all zeros) is skipped.
    """
    z = projected if h is None else ops.add(projected, ops.matmul(h, cell.recurrent_kernel))
    if cell.use_bias:
        z = ops.add(z, cell.bias)
    z0, z1, z2, z3 = ops.split(z, 4, axis=-1)
    i = cell.recurrent_activation(z0)
    f = cell.recurrent_activation(z1)
    c = f * c + i * cell.activation(z2)
    o = cell.recurrent_activation(z3)
    return o * cell.activation(c), c


def _token_layer(vocab_size: int, embedding_dim: int | None, name: str) -> keras.layers.Layer:
    if embedding_dim:
        return keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name=name)
    return OneHot(vocab_size, name=name)


def _vocab_size(layer: keras.layers.Layer) -> int:
    return int(getattr(layer, "input_dim", None) or layer.depth)


@register("lstm")
class LSTMSeq2Seq(Seq2SeqModel):
    """The card's LSTM encoder-decoder; the decode-loop state is ``[h, c]``."""

    keras_name = "seq2seq"
    #: Training models of LSTM variants (stacked, bidirectional, attention) carry this name.
    variant_keras_name = "seq2seq_lstm"
    options = RecurrentOptions

    @classmethod
    def build(cls, source_vocab_size: int, target_vocab_size: int, **options: Any):
        """Builds the card's model from named layers, or for other options (stacked,
        bidirectional, attention) the LSTM variant of :mod:`seq2seq.models.recurrent`."""
        opts = RecurrentOptions(**options)
        if not opts.is_card():
            return RecurrentSeq2Seq.build_cell("lstm", source_vocab_size, target_vocab_size, opts)
        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        target_in = keras.Input(shape=(None,), dtype="int32", name=TARGET_IN_KEY)
        src_embed = _token_layer(source_vocab_size, opts.embedding_dim, SOURCE_EMBEDDING)
        tgt_embed = _token_layer(target_vocab_size, opts.embedding_dim, TARGET_EMBEDDING)
        dropouts = {"dropout": opts.dropout, "recurrent_dropout": opts.recurrent_dropout}
        encoder_lstm = keras.layers.LSTM(
            opts.units, return_state=True, **dropouts, name=ENCODER_LSTM
        )
        decoder_lstm = keras.layers.LSTM(
            opts.units, return_sequences=True, return_state=True, **dropouts, name=DECODER_LSTM
        )
        output = TimeDistributed(
            keras.layers.Dense(target_vocab_size, activation="softmax"), name=OUTPUT_LAYER
        )
        _, state_h, state_c = encoder_lstm(src_embed(source))
        decoder_seq, _, _ = decoder_lstm(tgt_embed(target_in), initial_state=[state_h, state_c])
        training = keras.Model(
            inputs={SOURCE_KEY: source, TARGET_IN_KEY: target_in},
            outputs=output(decoder_seq),
            name=cls.keras_name,
        )
        return cls.from_training_model(training)

    @classmethod
    def from_training_model(cls, training: keras.Model):
        """Builds the oracle ``encoder`` and ``decoder_step`` models from the named layers."""
        if training.name == cls.variant_keras_name:
            return RecurrentSeq2Seq.from_training_model(training)
        try:
            src_embed = training.get_layer(SOURCE_EMBEDDING)
            tgt_embed = training.get_layer(TARGET_EMBEDDING)
            encoder_lstm = training.get_layer(ENCODER_LSTM)
            decoder_lstm = training.get_layer(DECODER_LSTM)
            output = training.get_layer(OUTPUT_LAYER)
        except ValueError as exc:
            raise Seq2SeqError(f"not an LSTM seq2seq model: {exc}") from None
        units = encoder_lstm.units

        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        _, state_h, state_c = encoder_lstm(src_embed(source))
        encoder = keras.Model(source, [state_h, state_c], name="encoder")

        token = keras.Input(shape=(None,), dtype="int32", name="token")
        h_in = keras.Input(shape=(units,), name="state_h")
        c_in = keras.Input(shape=(units,), name="state_c")
        seq, h_out, c_out = decoder_lstm(tgt_embed(token), initial_state=[h_in, c_in])
        decoder_step = keras.Model(
            [token, h_in, c_in], [output(seq), h_out, c_out], name="decoder_step"
        )
        return cls(training, encoder, decoder_step)

    @property
    def source_vocab_size(self) -> int:
        return _vocab_size(self.training.get_layer(SOURCE_EMBEDDING))

    @property
    def target_vocab_size(self) -> int:
        return int(self.training.get_layer(OUTPUT_LAYER).layer.units)

    def recurrent_stack(self) -> RecurrentStack:
        get = self.training.get_layer
        return RecurrentStack(
            get(SOURCE_EMBEDDING),
            get(TARGET_EMBEDDING),
            [get(ENCODER_LSTM)],
            [get(DECODER_LSTM)],
            [0],
        )

    @property
    def units(self) -> int:
        """Width of the LSTM states."""
        return int(self.training.get_layer(ENCODER_LSTM).units)

    def step(self, tokens, state):
        """One decoder step for a batch of single tokens, through the shared layers' weights.

        Computes what ``decoder_step`` computes for a length-1 input, but applies the LSTM
        cell's arithmetic directly instead of running the LSTM layer's sequence loop, and
        for one-hot inputs picks the kernel row a token selects instead of multiplying by a
        one-hot vector (the same numbers, a quarter fewer multiplications at 256 units).

        Args:
            tokens: ``[batch]`` int32 token ids.
            state: ``[h, c]``, each ``[batch, units]``.

        Returns:
            ``(probs [batch, vocab], [h, c])``.
        """
        state_h, state_c = state
        cell = self.training.get_layer(DECODER_LSTM).cell
        embed = self.training.get_layer(TARGET_EMBEDDING)
        if cell.implementation == 2:
            h, c = _lstm_cell(cell, _input_projection(embed, cell, tokens), state_h, state_c)
        else:  # the per-gate variant (recurrent dropout): use the cell itself
            h, (h, c) = cell(embed.call(tokens), [state_h, state_c], training=False)
        probs = self.training.get_layer(OUTPUT_LAYER).layer(h)
        return probs, [h, c]

    def encode(self, source):
        """The encoder's final ``[h, c]`` for ``[batch, time]`` source ids (PAD = masked).

        Computes what ``encoder`` computes (the LSTM keeps its state through masked steps),
        but applies the cell's arithmetic directly (a row lookup for one-hot inputs), skips
        the recurrent product at the first step (the state is zero there), and stops after
        the last unmasked step of the batch instead of running through trailing padding.
        """
        cell = self.training.get_layer(ENCODER_LSTM).cell
        embed = self.training.get_layer(SOURCE_EMBEDDING)
        if cell.implementation != 2 or not getattr(embed, "mask_zero", False):
            return list(self.encoder(source, training=False))  # recurrent dropout, or no mask
        # Time-major ids, plus one trailing PAD step: every batch has a first step, even one
        # of empty rows.
        ids = ops.transpose(ops.pad(ops.convert_to_tensor(source, "int32"), ((0, 0), (0, 1))))
        mask = ops.not_equal(ids, PAD_ID)[:, :, None]  # [time, batch, 1]
        positions = ops.arange(1, ops.shape(ids)[0] + 1, dtype="int32")
        steps = ops.max(ops.where(mask[:, :, 0], positions[:, None], 0))
        zeros = ops.zeros((ops.shape(ids)[1], cell.units), dtype=cell.kernel.dtype)
        h, c = _lstm_cell(cell, _input_projection(embed, cell, ids[0]), None, zeros)
        h, c = ops.where(mask[0], h, zeros), ops.where(mask[0], c, zeros)

        def body(t, h, c):
            new_h, new_c = _lstm_cell(cell, _input_projection(embed, cell, ids[t]), h, c)
            return t + 1, ops.where(mask[t], new_h, h), ops.where(mask[t], new_c, c)

        _, h, c = ops.while_loop(lambda t, h, c: t < steps, body, (1, h, c))
        return [h, c]
