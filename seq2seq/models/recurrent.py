"""Recurrent variants beside the card's model: GRU or LSTM cells, stacked layers, a
bidirectional encoder, dropout and attention (Luong or Bahdanau scores).

Training model (named ``seq2seq_recurrent``), for ``E`` encoder and ``D`` decoder layers::

    source -> source_embedding -> encoder_<cell>_1 -> ... -> encoder_<cell>_E
    target_in -> target_embedding -> decoder_<cell>_1 -> ... -> decoder_<cell>_D
        [-> attention over the top encoder layer's sequence -> attention_combine]
        -> output (TimeDistributed Dense softmax)

* Every encoder layer returns its final state (``return_state=True``); every layer but the
  top one returns sequences (``return_sequences=True``) to feed the next, and the top one
  returns them too only when attention reads them.
* States pass top-aligned: decoder layer ``D - k`` starts from encoder layer ``E - k``'s final
  state (``k = 0 .. min(E, D) - 1``). With more decoder layers, the extra bottom ones start
  from zeros; with more encoder layers, the extra bottom ones feed the layers above them.
* A bidirectional encoder concatenates its forward and backward states, so the decoder is
  twice as wide (``2 * units``): nothing is lost in a projection, and Luong's dot-product
  scores need queries as wide as the (concatenated) encoder outputs.
* Attention (``luong``: dot-product scores, ``keras.layers.Attention``; ``bahdanau``:
  additive scores, ``keras.layers.AdditiveAttention``) lets each decoder output attend over
  the encoder's sequence with padding masked; ``attention_combine`` maps
  ``[context; decoder output]`` to the attentional vector ``tanh(W [c; h])`` (Luong et al.,
  2015) that the output layer reads. The context is not fed back into the recurrence (no
  input feeding).

The decode-loop state is a flat list: each decoder layer's states, then (with attention) the
encoder's sequence and its mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
from keras import ops

from seq2seq.checks import fraction, positive, switch
from seq2seq.data.pipeline import SOURCE_KEY, TARGET_IN_KEY
from seq2seq.errors import Seq2SeqError
from seq2seq.layers import InputFeedingDecoder, OneHot, TimeDistributed
from seq2seq.models.base import RecurrentStack, Seq2SeqModel
from seq2seq.models.registry import register
from seq2seq.vocab import PAD_ID

SOURCE_EMBEDDING = "source_embedding"
TARGET_EMBEDDING = "target_embedding"
ATTENTION = "attention"
ATTENTION_COMBINE = "attention_combine"
FEEDING_DECODER = "decoder_feeding"
OUTPUT_LAYER = "output"
CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
ATTENTIONS = {"luong": keras.layers.Attention, "bahdanau": keras.layers.AdditiveAttention}


@dataclass(frozen=True)
class RecurrentOptions:
    """The ``model.*`` settings of the recurrent families (``lstm``, ``gru``).

    Attributes:
        units: state width of every layer (a bidirectional encoder's decoder: twice this).
        embedding_dim: learned character embedding width; ``None`` or 0 = one-hot inputs.
        dropout: input dropout of every recurrent layer (so between stacked layers too).
        recurrent_dropout: dropout of the recurrent state; on a GPU it leaves the fast
            cuDNN kernel, so training is several times slower there.
        encoder_layers: stacked encoder layers.
        decoder_layers: stacked decoder layers.
        bidirectional: a bidirectional encoder (forward and backward states concatenated).
        attention: ``null`` (none), ``luong`` or ``bahdanau``.
        input_feeding: feed each step's attentional vector into the next step's input
            (Luong et al. 2015); needs ``attention``. Its decoder cells have no dropout.
    """

    units: int = 256
    embedding_dim: int | None = None
    dropout: float | None = 0.0
    recurrent_dropout: float | None = 0.0
    encoder_layers: int = 1
    decoder_layers: int = 1
    bidirectional: bool = False
    attention: str | None = None
    input_feeding: bool = False

    def __post_init__(self) -> None:
        for key in ("units", "encoder_layers", "decoder_layers"):
            object.__setattr__(self, key, positive(f"model.{key}", getattr(self, key)))
        if self.embedding_dim:
            positive("model.embedding_dim", self.embedding_dim)
        for key in ("dropout", "recurrent_dropout"):
            if getattr(self, key) is None:  # null in config: none
                object.__setattr__(self, key, 0.0)
            object.__setattr__(self, key, fraction(f"model.{key}", getattr(self, key)))
        switch("model.bidirectional", self.bidirectional)
        if self.attention is not None and self.attention not in ATTENTIONS:
            raise Seq2SeqError(
                f"model.attention must be null, luong or bahdanau, got {self.attention!r}"
            )
        switch("model.input_feeding", self.input_feeding)
        if self.input_feeding and self.attention is None:
            raise Seq2SeqError("model.input_feeding=true needs model.attention (luong or bahdanau)")

    def is_card(self) -> bool:
        """Whether these options describe the card's model (one LSTM layer each side, no
        attention; dropout of either kind is the card's own)."""
        return (
            self.encoder_layers == 1
            and self.decoder_layers == 1
            and not self.bidirectional
            and self.attention is None
        )


def _token_layer(vocab_size: int, embedding_dim: int | None, name: str) -> keras.layers.Layer:
    if embedding_dim:
        return keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name=name)
    return OneHot(vocab_size, name=name)


def _encoder_layer(cell: str, opts: RecurrentOptions, index: int, top: bool) -> keras.layers.Layer:
    rnn = CELLS[cell](
        opts.units,
        return_sequences=not top or opts.attention is not None,
        return_state=True,
        dropout=opts.dropout,
        recurrent_dropout=opts.recurrent_dropout,
        name=f"encoder_{cell}_{index}",
    )
    if opts.bidirectional:
        return keras.layers.Bidirectional(rnn, name=f"encoder_{cell}_{index}")
    return rnn


def _decoder_layer(cell: str, opts: RecurrentOptions, index: int) -> keras.layers.Layer:
    return CELLS[cell](
        opts.units * (2 if opts.bidirectional else 1),
        return_sequences=True,
        return_state=True,
        dropout=opts.dropout,
        recurrent_dropout=opts.recurrent_dropout,
        name=f"decoder_{cell}_{index}",
    )


@dataclass
class RecurrentLayers:
    """The named layers of a recurrent model, as built or as found in a loaded one."""

    cell: str
    source_embedding: keras.layers.Layer
    target_embedding: keras.layers.Layer
    encoder: list[keras.layers.Layer]
    decoder: list[keras.layers.Layer]
    attention: keras.layers.Layer | None
    attention_combine: keras.layers.Layer | None
    output: keras.layers.Layer
    #: With input feeding: the one layer that runs every decoder cell and the attention.
    feeding: InputFeedingDecoder | None = None

    @classmethod
    def create(cls, cell: str, source_size: int, target_size: int, opts: RecurrentOptions):
        """New layers for ``opts``."""
        width = opts.units * (2 if opts.bidirectional else 1)
        e, d = opts.encoder_layers, opts.decoder_layers
        feeding = None
        if opts.input_feeding:
            feeding = InputFeedingDecoder(width, cell, d, opts.attention, name=FEEDING_DECODER)
            d = 0  # the feeding layer holds the decoder cells and the attention
        return cls(
            cell=cell,
            source_embedding=_token_layer(source_size, opts.embedding_dim, SOURCE_EMBEDDING),
            target_embedding=_token_layer(target_size, opts.embedding_dim, TARGET_EMBEDDING),
            encoder=[_encoder_layer(cell, opts, i + 1, top=i == e - 1) for i in range(e)],
            decoder=[_decoder_layer(cell, opts, i + 1) for i in range(d)],
            attention=ATTENTIONS[opts.attention](name=ATTENTION) if d and opts.attention else None,
            attention_combine=(
                keras.layers.Dense(width, activation="tanh", name=ATTENTION_COMBINE)
                if d and opts.attention
                else None
            ),
            output=TimeDistributed(
                keras.layers.Dense(target_size, activation="softmax"), name=OUTPUT_LAYER
            ),
            feeding=feeding,
        )

    @classmethod
    def find(cls, training: keras.Model) -> RecurrentLayers:
        """The layers of a loaded training model, by name."""
        by_name = {layer.name: layer for layer in training.layers}
        cell = next((c for c in CELLS if f"encoder_{c}_1" in by_name), None)
        if cell is None or OUTPUT_LAYER not in by_name:
            raise Seq2SeqError(f"not a recurrent seq2seq model: layers {sorted(by_name)}")

        def stack(side: str) -> list:
            found, i = [], 1
            while f"{side}_{cell}_{i}" in by_name:
                found.append(by_name[f"{side}_{cell}_{i}"])
                i += 1
            return found

        return cls(
            cell=cell,
            source_embedding=by_name[SOURCE_EMBEDDING],
            target_embedding=by_name[TARGET_EMBEDDING],
            encoder=stack("encoder"),
            decoder=stack("decoder"),
            attention=by_name.get(ATTENTION),
            attention_combine=by_name.get(ATTENTION_COMBINE),
            output=by_name[OUTPUT_LAYER],
            feeding=by_name.get(FEEDING_DECODER),
        )

    @property
    def states_per_layer(self) -> int:
        """Recurrent states per layer: 2 for an LSTM (h, c), 1 for a GRU."""
        return 2 if self.cell == "lstm" else 1

    @property
    def decoder_width(self) -> int:
        return int((self.feeding or self.decoder[0]).units)

    @property
    def decoder_depth(self) -> int:
        return self.feeding.num_layers if self.feeding else len(self.decoder)

    @property
    def reads_memory(self) -> bool:
        """Whether the decoder attends over the encoder's sequence."""
        return self.attention is not None or self.feeding is not None

    def run_encoder(self, source) -> tuple[Any, list[list]]:
        """The top encoder layer's output and every layer's final states (a bidirectional
        layer's forward and backward states concatenated)."""
        x = self.source_embedding(source)
        states = []
        for layer in self.encoder:
            x, *layer_states = layer(x)
            if isinstance(layer, keras.layers.Bidirectional):
                half = len(layer_states) // 2
                layer_states = [
                    keras.layers.Concatenate(name=f"{layer.name}_state_{j}")([f, b])
                    for j, (f, b) in enumerate(
                        zip(layer_states[:half], layer_states[half:], strict=True)
                    )
                ]
            states.append(layer_states)
        return x, states

    def decoder_initial_states(self, encoder_states: list[list]) -> list[list | None]:
        """Top-aligned: decoder layer ``D - k`` starts from encoder layer ``E - k``."""
        d, e = self.decoder_depth, len(encoder_states)
        return [encoder_states[e - d + i] if e - d + i >= 0 else None for i in range(d)]

    def run_decoder(self, x, initial: list, memory=None, memory_mask=None, scores=False):
        """Decoder layers from ``initial`` states, attention, output; returns the
        probabilities, every layer's final states and (``scores=True``) the attention.

        With input feeding, ``initial`` is the flat state list (or the top-aligned encoder
        states) and ``memory_mask`` the source ids."""
        x = self.target_embedding(x)
        if self.feeding is not None:
            a, final, weights = self.feeding(
                x, initial_state=initial, memory=memory, source=memory_mask
            )
            return self.output(a), [final], weights
        final, weights = [], None
        for layer, init in zip(self.decoder, initial, strict=True):
            x, *layer_states = layer(x, initial_state=init)
            final.append(layer_states)
        if self.attention is not None:
            kwargs: dict[str, Any] = {"return_attention_scores": True} if scores else {}
            if memory_mask is not None:  # else the Keras masks of x and memory apply
                kwargs["mask"] = [None, memory_mask]
            context = self.attention([x, memory], **kwargs)
            if scores:
                context, weights = context
            joined = keras.layers.Concatenate(name="attention_inputs")([context, x])
            x = self.attention_combine(joined)
        return self.output(x), final, weights


class RecurrentSeq2Seq(Seq2SeqModel):
    """A recurrent encoder-decoder as :class:`RecurrentOptions` describe it.

    Its compiled-loop ``encode`` and ``step`` run the oracle Keras models themselves (the
    card's LSTM has a hand-written faster path; these variants do not, yet).
    """

    options = RecurrentOptions

    def __init__(self, training, encoder, decoder_step, layers: RecurrentLayers):
        super().__init__(training, encoder, decoder_step)
        self.layers = layers

    @classmethod
    def build_cell(
        cls, cell: str, source_vocab_size: int, target_vocab_size: int, opts: RecurrentOptions
    ) -> RecurrentSeq2Seq:
        """Builds the training model for ``cell`` (``lstm`` or ``gru``) and ``opts``."""
        layers = RecurrentLayers.create(cell, source_vocab_size, target_vocab_size, opts)
        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        target_in = keras.Input(shape=(None,), dtype="int32", name=TARGET_IN_KEY)
        memory, states = layers.run_encoder(source)
        initial = layers.decoder_initial_states(states)
        if layers.feeding is not None:  # the top-aligned encoder states, flat; the source ids
            given = [s for layer_states in initial if layer_states for s in layer_states]
            probs, _, _ = layers.run_decoder(target_in, given, memory, source)
        else:
            probs, _, _ = layers.run_decoder(target_in, initial, memory=memory)
        training = keras.Model(
            inputs={SOURCE_KEY: source, TARGET_IN_KEY: target_in},
            outputs=probs,
            name=f"seq2seq_{cell}",
        )
        return cls._wrap(training, layers)

    @classmethod
    def build(cls, source_vocab_size: int, target_vocab_size: int, **options: Any):
        return cls.build_cell(
            cls.cell, source_vocab_size, target_vocab_size, RecurrentOptions(**options)
        )

    @classmethod
    def from_training_model(cls, training: keras.Model) -> RecurrentSeq2Seq:
        return cls._wrap(training, RecurrentLayers.find(training))

    @classmethod
    def _wrap(cls, training: keras.Model, layers: RecurrentLayers) -> RecurrentSeq2Seq:
        """Builds the oracle models (and the attention aligner) from the layers."""
        source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_KEY)
        memory, states = layers.run_encoder(source)
        # Decoder layers without an encoder twin start from zeros. (The oracle models are
        # rebuilt on load, never saved, so they may use plain ops.)
        zeros = [ops.zeros_like(s) for s in states[-1]]
        initial = [s or zeros for s in layers.decoder_initial_states(states)]
        outputs = [s for layer_states in initial for s in layer_states]
        if layers.feeding is not None:  # the attentional vector starts at zero
            outputs += [zeros[0], memory, source]
        elif layers.attention is not None:
            outputs += [memory, ops.not_equal(source, PAD_ID)]
        encoder = keras.Model(source, outputs, name="encoder")

        width, per_layer = layers.decoder_width, layers.states_per_layer
        token = keras.Input(shape=(None,), dtype="int32", name="token")
        state_in = [
            [keras.Input(shape=(width,), name=f"state_{i}_{j}") for j in range(per_layer)]
            for i in range(layers.decoder_depth)
        ]
        if layers.feeding is not None:
            state_in = [[s for group in state_in for s in group]]
            state_in[0].append(keras.Input(shape=(width,), name="attentional"))
        flat_in = [s for layer_states in state_in for s in layer_states]
        extra_in = []
        if layers.reads_memory:
            memory_in = keras.Input(shape=(None, int(memory.shape[-1])), name="memory")
            if layers.feeding is not None:
                mask_in = keras.Input(shape=(None,), dtype="int32", name="source_ids")
            else:
                mask_in = keras.Input(shape=(None,), dtype="bool", name="memory_mask")
            extra_in = [memory_in, mask_in]
        probs, final, _ = layers.run_decoder(
            token, state_in[0] if layers.feeding else state_in, *extra_in
        )
        flat_out = [s for layer_states in final for s in layer_states]
        decoder_step = keras.Model(
            [token, *flat_in, *extra_in], [probs, *flat_out, *extra_in], name="decoder_step"
        )
        return cls(training, encoder, decoder_step, layers)

    @property
    def source_vocab_size(self) -> int:
        embed = self.layers.source_embedding
        return int(getattr(embed, "input_dim", None) or embed.depth)

    @property
    def target_vocab_size(self) -> int:
        return int(self.layers.output.layer.units)

    def encode(self, source):
        return self.reference_encode(source)

    def recurrent_stack(self) -> RecurrentStack:
        """The recurrent layers (an input-feeding decoder's cells run inside one layer, so
        only its encoder layers are listed)."""
        d, e = len(self.layers.decoder), len(self.layers.encoder)
        starts = [e - d + i if e - d + i >= 0 else None for i in range(d)]
        layers = self.layers
        return RecurrentStack(
            layers.source_embedding, layers.target_embedding, layers.encoder, layers.decoder, starts
        )

    def step(self, tokens, state):
        probs, new_state = self.reference_step(ops.expand_dims(tokens, 1), state)
        return probs, new_state

    def alignments(self, source, target_in):
        """Attention weights ``[batch, target, source]`` when the decoder reads
        ``target_in`` (teacher forcing; a greedy output fed back gives the weights its
        decoding used). None without attention."""
        if not self.layers.reads_memory:
            return None
        state = self.reference_encode(source)
        target_in = ops.convert_to_tensor(target_in, "int32")
        if self.layers.feeding is not None:
            _, _, weights = self.layers.run_decoder(target_in, state[:-2], *state[-2:])
            return weights
        per_layer = self.layers.states_per_layer
        groups = [state[i : i + per_layer] for i in range(0, len(state) - 2, per_layer)]
        _, _, weights = self.layers.run_decoder(target_in, groups, *state[-2:], scores=True)
        return weights


@register("gru")
class GRUSeq2Seq(RecurrentSeq2Seq):
    """GRU encoder and decoder: the state of each layer is its one ``h``."""

    cell = "gru"
    keras_name = "seq2seq_gru"
