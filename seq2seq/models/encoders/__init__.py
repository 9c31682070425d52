"""Encoder parts, registered by ``model.encoder``: ``recurrent`` (LSTM/GRU, stacked,
bidirectional) and ``conv``. A new encoder is one module here that subclasses
:class:`Encoder` and decorates itself with ``@ENCODERS.register("<name>")``; every module of
this package is imported, and so registered, with it."""

from seq2seq.models.encoders.base import Encoder
from seq2seq.registry import import_modules

import_modules(__name__, __path__, skip=("base",))

__all__ = ["Encoder"]
