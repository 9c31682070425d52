"""The ``model.*`` settings: one frozen dataclass that owns their defaults and checks, and
the record each model family is configured with.

``configs/model/<family>.yaml`` picks these defaults up from Hydra's ConfigStore (as
``/model_family/<family>``), so each default lives here only. No TensorFlow here (see
:mod:`seq2seq.options`).
"""

from __future__ import annotations

from dataclasses import dataclass

from seq2seq.checks import fraction, positive, switch
from seq2seq.errors import Seq2SeqError

#: Attention scores a decoder can use (``model.attention``).
ATTENTIONS = ("luong", "bahdanau")


#: The largest value of each size setting: beyond these a model does not fit in memory (an
#: LSTM of 8,192 units already holds 4 x 8,192 x 16,384 weights per layer).
MOST = {"units": 8192, "embedding_dim": 8192, "encoder_layers": 32, "decoder_layers": 32,
        "kernel_size": 63, "heads": 64, "ff_units": 32768}  # fmt: skip


@dataclass(frozen=True)
class ModelOptions:
    """The ``model.*`` settings of every family (parts ignore what they do not use).

    Attributes:
        units: state width of every layer (a bidirectional encoder's decoder: twice this).
        embedding_dim: learned character embedding width; ``None`` or 0 = one-hot inputs
            (as in the Keras example).
        dropout: input dropout of every recurrent layer (so between stacked layers too).
        recurrent_dropout: dropout of the recurrent state; on a GPU it leaves the fast
            cuDNN kernel, so training is several times slower there.
        encoder: the encoder part (``recurrent``, ``conv``: see ``seq2seq/models/encoders``).
        encoder_layers: stacked encoder layers (recurrent or convolution layers).
        kernel_size: width of each convolution of the ``conv`` encoder (odd).
        bidirectional: a bidirectional recurrent encoder (forward and backward states
            concatenated).
        bridge: how the encoder's final states become the decoder's initial states:
            ``direct`` (handed over as they are, the Keras example's way), ``dense`` (a
            learned ``tanh`` projection per decoder state) or ``zeros``.
        decoder_layers: stacked decoder layers.
        attention: ``null`` (none), ``luong`` or ``bahdanau``.
        input_feeding: feed each step's attentional vector into the next step's input
            (Luong et al. 2015); needs ``attention``. Its decoder cells have no dropout.
        heads: attention heads of the ``transformer`` encoder part.
        ff_units: feed-forward width of the ``transformer`` encoder part's blocks.
    """

    units: int = 128
    embedding_dim: int | None = 64
    dropout: float | None = 0.0
    recurrent_dropout: float | None = 0.0
    encoder: str = "recurrent"
    encoder_layers: int = 1
    kernel_size: int = 3
    bidirectional: bool = False
    bridge: str = "direct"
    decoder_layers: int = 1
    attention: str | None = None
    input_feeding: bool = False
    heads: int = 4
    ff_units: int = 512

    def __post_init__(self) -> None:
        for key, most in MOST.items():
            if key != "embedding_dim":
                value = positive(f"model.{key}", getattr(self, key), at_most=most)
                object.__setattr__(self, key, value)
        if self.kernel_size % 2 == 0:
            raise Seq2SeqError(f"model.kernel_size must be odd, got {self.kernel_size}")
        if self.embedding_dim:
            positive("model.embedding_dim", self.embedding_dim, at_most=MOST["embedding_dim"])
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

    def is_keras_example(self, cell: str) -> bool:
        """Whether these options describe the Keras example's model: one LSTM layer on each
        side, the encoder's final ``[h, c]`` handed over directly, no attention (dropout of
        either kind is the example's own)."""
        return (
            cell == "lstm"
            and self.encoder == "recurrent"
            and self.encoder_layers == 1
            and self.decoder_layers == 1
            and not self.bidirectional
            and self.bridge == "direct"
            and self.attention is None
        )


@dataclass(frozen=True)
class TransformerOptions:
    """The ``model.*`` settings of the ``transformer`` family (pre-norm encoder and decoder).

    Attributes:
        units: the model width (embeddings, attention, every block's output); a multiple of
            ``heads`` and even (the sinusoidal positions come in sine/cosine pairs).
        heads: attention heads of every attention layer.
        ff_units: the inner width of every block's feed-forward layer.
        encoder_layers: encoder blocks.
        decoder_layers: decoder blocks.
        dropout: on the embeddings and every residual branch.
        attention_dropout: on the attention weights.
        max_positions: the output steps a state from ``encode`` has room for (the decode
            loop sizes its cache to each call's ``max_length`` instead).
    """

    units: int = 128
    heads: int = 4
    ff_units: int = 512
    encoder_layers: int = 2
    decoder_layers: int = 2
    dropout: float | None = 0.1
    attention_dropout: float | None = 0.0
    max_positions: int = 512

    def __post_init__(self) -> None:
        for key in ("units", "heads", "ff_units", "encoder_layers", "decoder_layers",
                    "max_positions"):  # fmt: skip
            most = MOST.get(key, 8192)
            object.__setattr__(
                self, key, positive(f"model.{key}", getattr(self, key), at_most=most)
            )
        if self.units % self.heads or self.units % 2:
            raise Seq2SeqError(
                f"model.units={self.units} must be even and a multiple of model.heads={self.heads}"
            )
        for key in ("dropout", "attention_dropout"):
            value = getattr(self, key) or 0.0
            object.__setattr__(self, key, fraction(f"model.{key}", value))


#: The settings record of each model family (``model.name``), declared here so that Hydra's
#: config groups are built without importing the families' Keras code; a family registered
#: in :mod:`seq2seq.models` under a name missing here is refused.
FAMILY_OPTIONS: dict[str, type] = {
    "lstm": ModelOptions,
    "gru": ModelOptions,
    "transformer": TransformerOptions,
}
