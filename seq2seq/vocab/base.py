"""What every vocabulary is: text <-> integer ids, with the four reserved ids.

Ids ``0..3`` are reserved in every vocabulary:

* ``PAD_ID`` (0) pads batches; the model masks it out of the loss.
* ``START_ID`` (1) is fed to the decoder before the first target token.
* ``END_ID`` (2) is emitted by the decoder after the last target token.
* ``UNK_ID`` (3) stands for anything the vocabulary cannot represent; it reads as U+FFFD.

A vocabulary kind (``vocab.name``: characters, SentencePiece, ...) is a subclass of
:class:`TokenVocabulary` registered in :data:`VOCABULARIES`, with a frozen dataclass of its
``vocab.*`` settings. It knows nothing of models or Hydra.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np

from seq2seq.registry import Registry

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIAL_TOKENS = (PAD, START, END, UNK)
PAD_ID, START_ID, END_ID, UNK_ID = 0, 1, 2, 3
#: How an unknown token reads in text (the Unicode replacement character).
UNK_TEXT = "\ufffd"

VOCABULARIES: Registry = Registry("vocabulary", "vocab.name")


class PaddedIds(NamedTuple):
    """Texts as ids in one array: ``ids[n, width]`` int32, each row right-padded with PAD to
    the longest; ``lengths[n]``, each text's id count; ``unknown``, the distinct characters
    that read as UNK."""

    ids: np.ndarray
    lengths: np.ndarray
    unknown: frozenset[str] = frozenset()

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int]], unknown: Iterable[str] = ()) -> PaddedIds:
        """The padded array of id lists ``rows``."""
        lengths = [len(row) for row in rows]
        width = max(lengths, default=0)
        padded = [[*row, *[PAD_ID] * (width - n)] for row, n in zip(rows, lengths, strict=True)]
        ids = np.array(padded, np.int32).reshape(len(rows), width)
        return cls(ids, np.array(lengths, np.int64), frozenset(unknown))

    @classmethod
    def from_flat(cls, flat: np.ndarray, lengths: np.ndarray, unknown: Iterable[str] = ()):
        """The padded array of the rows ``flat`` holds one after the other, ``lengths[i]``
        ids each."""
        width = int(lengths.max(initial=0))
        ids = np.full((len(lengths), width), PAD_ID, np.int32)
        ids[np.arange(width) < lengths[:, None]] = flat  # row by row, in order
        return cls(ids, lengths, frozenset(unknown))

    def rows(self) -> list[list[int]]:
        """The ids of each text, unpadded."""
        return [row[:n] for row, n in zip(self.ids.tolist(), self.lengths.tolist(), strict=True)]


@dataclass(frozen=True)
class VocabOptions:
    """Settings every vocabulary kind has (none yet)."""


class TokenVocabulary(ABC):
    """One side's vocabulary: a registered kind that maps text to ids and back."""

    #: Registry name (``vocab.name``); set by ``VOCABULARIES.register``.
    name: ClassVar[str] = ""
    #: The kind's ``vocab.*`` settings (a frozen dataclass).
    options: ClassVar[type] = VocabOptions
    #: What one id stands for, in messages (``characters``, ``pieces``).
    unit: ClassVar[str] = "tokens"
    #: A resumed run reads its saved vocabularies back (a trained kind is not trained again);
    #: False: they are built again and must equal the saved ones (the data has not changed).
    kept_on_resume: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def build_pair(
        cls, options: Any, pairs: Iterable[tuple[str, str]]
    ) -> tuple[TokenVocabulary, TokenVocabulary]:
        """The source and target vocabularies of the training ``pairs`` (in memory or
        streamed: iterated once).

        Raises:
            Seq2SeqError: the settings do not fit the data.
        """

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict[str, Any], directory: Path) -> TokenVocabulary:
        """Inverse of :meth:`to_dict`; files it names are read from ``directory``.

        Raises:
            ValueError: the description or a file it names is missing or malformed.
        """

    @abstractmethod
    def __len__(self) -> int:
        """The number of ids (the reserved ones included)."""

    @abstractmethod
    def encode(self, text: str, add_start: bool = False, add_end: bool = False) -> list[int]:
        """Maps ``text`` to ids; what the vocabulary cannot represent becomes ``UNK_ID``."""

    def encode_padded(self, texts: Sequence[str]) -> PaddedIds:
        """:meth:`encode` of each of ``texts`` (no START or END) as one padded array, with
        the characters that read as UNK."""
        unknown = {ch for text in texts for ch in self.unknown_characters(text)}
        return PaddedIds.from_rows([self.encode(text) for text in texts], unknown)

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """Maps ids back to text, stopping at the first END and dropping PAD/START."""

    def decode_batch(self, ids: Any) -> list[str]:
        """:meth:`decode` of each row of a ``[rows, steps]`` id array."""
        return [self.decode(row) for row in ids]

    @abstractmethod
    def tokens(self, ids: Iterable[int]) -> list[str]:
        """The token each id stands for (up to the first END, PAD/START dropped): the labels
        of an alignment's or a trajectory's steps."""

    @abstractmethod
    def unknown_characters(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that read as UNK."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (``vocab.json``'s ``source`` / ``target``)."""

    def save_files(self, directory: Path) -> None:
        """Writes the files :meth:`to_dict` names into ``directory`` (none by default)."""
        return None

    @abstractmethod
    def graph(self) -> Any:
        """The in-graph form for a SavedModel: a ``tf.Module`` with ``encode(text)``
        (``tf.string [batch]`` -> ``tf.RaggedTensor`` int32 ids) and ``decode(ids)``
        (``int32 [..., steps]`` -> ``tf.string [...]``, cut at the first END)."""


def cut_at_end(ids: Iterable[int]) -> list[int]:
    """``ids`` up to the first END, with PAD and START dropped."""
    out: list[int] = []
    for i in ids:
        i = int(i)
        if i == END_ID:
            break
        if i not in (PAD_ID, START_ID):
            out.append(i)
    return out


def pad_batch(sequences: Sequence[Sequence[int]], length: int | None = None) -> list[list[int]]:
    """Right-pads id sequences with ``PAD_ID`` to a common length (the longest by default)."""
    width = length if length is not None else max((len(s) for s in sequences), default=0)
    return [list(s[:width]) + [PAD_ID] * (width - len(s[:width])) for s in sequences]
