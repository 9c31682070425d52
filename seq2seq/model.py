"""The LSTM encoder-decoder, built once from named layers.

Three Keras models share the same layers:

* ``training``: ``{"source", "target_in"}`` -> per-step target probabilities (teacher forcing);
  the encoder LSTM's final ``[h, c]`` is the decoder LSTM's ``initial_state``.
* ``encoder``: ``source`` -> ``[h, c]``.
* ``decoder_step``: ``[token, h, c]`` -> ``[probs, h, c]`` for one (or more) decoder steps.

Only the training model is saved (``model.keras``, loadable with ``safe_mode=True``); the
inference models are rebuilt from its layers, looked up by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras

from seq2seq.data.pipeline import SOURCE_KEY, TARGET_IN_KEY
from seq2seq.errors import Seq2SeqError
from seq2seq.layers import OneHot, TimeDistributed

SOURCE_EMBEDDING = "source_embedding"
TARGET_EMBEDDING = "target_embedding"
ENCODER_LSTM = "encoder_lstm"
DECODER_LSTM = "decoder_lstm"
OUTPUT_LAYER = "output"


def _token_layer(vocab_size: int, embedding_dim: int | None, name: str) -> keras.layers.Layer:
    if embedding_dim:
        return keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name=name)
    return OneHot(vocab_size, name=name)


@dataclass
class Seq2Seq:
    """The training model and the two inference models that share its layers."""

    training: keras.Model
    encoder: keras.Model
    decoder_step: keras.Model

    def step(self, tokens, state_h, state_c):
        """One decoder step for a batch of single tokens, through the shared layers' cell.

        Computes what ``decoder_step`` computes for a length-1 input, but calls the LSTM cell
        directly instead of the LSTM layer's sequence loop, which makes compiled decode loops
        much cheaper per step.

        Args:
            tokens: ``[batch]`` int32 token ids.
            state_h: ``[batch, units]``.
            state_c: ``[batch, units]``.

        Returns:
            ``(probs [batch, vocab], state_h, state_c)``.
        """
        x = self.training.get_layer(TARGET_EMBEDDING).call(tokens)  # .call: no mask attached
        cell = self.training.get_layer(DECODER_LSTM).cell
        h, (h, c) = cell(x, [state_h, state_c], training=False)
        probs = self.training.get_layer(OUTPUT_LAYER).layer(h)
        return probs, h, c

    @property
    def units(self) -> int:
        """Width of the LSTM states."""
        return int(self.training.get_layer(ENCODER_LSTM).units)

    @classmethod
    def from_training_model(cls, training: keras.Model) -> Seq2Seq:
        """Builds the encoder and decoder-step models from a training model's named layers."""
        try:
            src_embed = training.get_layer(SOURCE_EMBEDDING)
            tgt_embed = training.get_layer(TARGET_EMBEDDING)
            encoder_lstm = training.get_layer(ENCODER_LSTM)
            decoder_lstm = training.get_layer(DECODER_LSTM)
            output = training.get_layer(OUTPUT_LAYER)
        except ValueError as exc:
            raise Seq2SeqError(f"not a seq2seq model: {exc}") from None
        units = encoder_lstm.units

        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        _, state_h, state_c = encoder_lstm(src_embed(source))
        encoder = keras.Model(source, [state_h, state_c], name="encoder")

        token = keras.Input(shape=(None,), dtype="int32", name="token")
        h_in = keras.Input(shape=(units,), name="state_h")
        c_in = keras.Input(shape=(units,), name="state_c")
        seq, h_out, c_out = decoder_lstm(tgt_embed(token), initial_state=[h_in, c_in])
        probs = output(seq)
        decoder_step = keras.Model([token, h_in, c_in], [probs, h_out, c_out], name="decoder_step")
        return cls(training=training, encoder=encoder, decoder_step=decoder_step)


def build_seq2seq(
    source_vocab_size: int,
    target_vocab_size: int,
    units: int = 256,
    embedding_dim: int | None = None,
    dropout: float = 0.0,
) -> Seq2Seq:
    """Builds the encoder-decoder.

    Args:
        source_vocab_size: size of the source vocabulary (reserved ids included).
        target_vocab_size: size of the target vocabulary (reserved ids included).
        units: LSTM state width, shared by encoder and decoder.
        embedding_dim: learned character embedding width; ``None`` or 0 feeds one-hot vectors
            (as in the Keras ``lstm_seq2seq`` example).
        dropout: input dropout of both LSTMs (``recurrent_dropout`` is left at 0, which keeps
            the fast cuDNN kernel on GPUs).

    Returns:
        The training model (uncompiled) with its encoder and decoder-step models.
    """
    source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
    target_in = keras.Input(shape=(None,), dtype="int32", name=TARGET_IN_KEY)

    src_embed = _token_layer(source_vocab_size, embedding_dim, SOURCE_EMBEDDING)
    tgt_embed = _token_layer(target_vocab_size, embedding_dim, TARGET_EMBEDDING)
    encoder_lstm = keras.layers.LSTM(units, return_state=True, dropout=dropout, name=ENCODER_LSTM)
    decoder_lstm = keras.layers.LSTM(
        units, return_sequences=True, return_state=True, dropout=dropout, name=DECODER_LSTM
    )
    output = TimeDistributed(
        keras.layers.Dense(target_vocab_size, activation="softmax"), name=OUTPUT_LAYER
    )

    _, state_h, state_c = encoder_lstm(src_embed(source))
    decoder_seq, _, _ = decoder_lstm(tgt_embed(target_in), initial_state=[state_h, state_c])
    probs = output(decoder_seq)
    training = keras.Model(
        inputs={SOURCE_KEY: source, TARGET_IN_KEY: target_in}, outputs=probs, name="seq2seq"
    )
    return Seq2Seq.from_training_model(training)


def save_model(model: keras.Model, path: str | Path) -> None:
    """Saves ``model`` to a ``.keras`` file atomically (temporary name, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    tmp.replace(path)


def load_seq2seq(path: str | Path, compile: bool = False) -> Seq2Seq:
    """Loads a saved training model with ``safe_mode=True`` and rebuilds the inference models.

    Raises:
        Seq2SeqError: the file is missing or is not a loadable seq2seq model.
    """
    path = Path(path)
    if not path.is_file():
        raise Seq2SeqError(f"model file not found: {path}")
    try:
        training = keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a corrupt file
        raise Seq2SeqError(f"cannot load model {path}: {exc}") from None
    return Seq2Seq.from_training_model(training)
