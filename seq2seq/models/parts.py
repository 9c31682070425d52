"""What every model part shares: the build spec, the encoder's output record, zero states.

A model is composed of four parts (see :mod:`seq2seq.models.composed`):

* an **encoder** (``seq2seq/models/encoders/``, registered by ``model.encoder``): source ids
  -> :class:`Encoded` (the sequence attention reads, and each layer's final states);
* a **bridge** (:mod:`seq2seq.models.bridges`, ``model.bridge``): the encoder's final states
  -> each decoder layer's initial states;
* a **decoder** (:mod:`seq2seq.models.decoders`): recurrent, with or without attention and
  input feeding; it owns the target embedding
* and the **output layer** (:func:`seq2seq.models.io.output_layer`).

Every part owns named Keras layers. It is made new (``create``) from a :class:`PartSpec`, or
found again (``find``) by layer name in a loaded training model, so a saved ``model.keras``
needs no record of its composition beyond its layer names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keras import ops

from seq2seq.options.model import ModelOptions


@dataclass(frozen=True)
class PartSpec:
    """What a new part is built for.

    Attributes:
        options: the ``model.*`` settings.
        cell: the family's recurrent cell, ``lstm`` or ``gru``.
        source_vocab_size: source ids the model reads (reserved ids included).
        target_vocab_size: target ids the model predicts.
        keras_example: the Keras example's own layer names (``encoder_lstm``,
            ``decoder_lstm``: one layer each side, no ``_1`` suffix).
    """

    options: ModelOptions
    cell: str
    source_vocab_size: int
    target_vocab_size: int
    keras_example: bool = False


@dataclass
class Encoded:
    """What an encoder gives the rest of the model.

    Attributes:
        memory: ``[batch, time, width]`` sequence the attention reads (None when the
            encoder was built without attention: the top recurrent layer then returns
            only its final state).
        finals: each layer's final states, bottom layer first (an LSTM layer's ``[h, c]``,
            a GRU's ``[h]``, a convolution stack's ``[summary]``).
    """

    memory: Any
    finals: list[list[Any]]


def states_per_cell(cell: str) -> int:
    """Recurrent states of one ``cell`` layer: 2 for an LSTM (h, c), 1 for a GRU."""
    return 2 if cell == "lstm" else 1


def zero_state(source: Any, width: int, dtype: str) -> Any:
    """``[batch, width]`` zeros for a batch of ``source`` ids (works on Keras symbols;
    for the oracle models only, which are rebuilt on load and never saved)."""
    column = ops.zeros_like(ops.cast(source[:, :1], dtype))
    return ops.repeat(column, width, axis=1)
