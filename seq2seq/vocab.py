"""Character vocabularies: characters <-> integer ids, with reserved special ids.

A :class:`Vocabulary` knows nothing of TensorFlow or Hydra. Ids ``0..3`` are reserved:

* ``PAD_ID`` (0) pads batches; the model masks it out of the loss.
* ``START_ID`` (1) is fed to the decoder before the first target character.
* ``END_ID`` (2) is emitted by the decoder after the last target character.
* ``UNK_ID`` (3) stands for any character not seen when the vocabulary was built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIAL_TOKENS = (PAD, START, END, UNK)
PAD_ID, START_ID, END_ID, UNK_ID = 0, 1, 2, 3

VOCAB_FORMAT_VERSION = 1


class Vocabulary:
    """A bijection between characters and ids, plus the four reserved tokens."""

    def __init__(self, characters: Iterable[str]) -> None:
        """Creates a vocabulary over ``characters`` (order kept, duplicates dropped).

        Args:
            characters: single characters; ids are assigned after the reserved ones.
        """
        chars: list[str] = []
        seen: set[str] = set()
        for ch in characters:
            if len(ch) != 1:
                raise ValueError(f"vocabulary entries must be single characters, got {ch!r}")
            if ch not in seen:
                seen.add(ch)
                chars.append(ch)
        self._itos: list[str] = list(SPECIAL_TOKENS) + chars
        self._stoi: dict[str, int] = {ch: i for i, ch in enumerate(chars, len(SPECIAL_TOKENS))}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Builds a vocabulary from every character of ``texts``, sorted for stable ids.

        Args:
            texts: the training texts.
            min_count: characters seen fewer times than this are left out (they become UNK).
        """
        counts = Counter(ch for text in texts for ch in text)
        return cls(sorted(ch for ch, n in counts.items() if n >= min_count))

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, ch: object) -> bool:
        return ch in self._stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._itos == other._itos

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)})"

    @property
    def characters(self) -> list[str]:
        """The non-reserved characters, in id order."""
        return self._itos[len(SPECIAL_TOKENS) :]

    def encode(self, text: str, add_start: bool = False, add_end: bool = False) -> list[int]:
        """Maps ``text`` to ids; unknown characters become ``UNK_ID``."""
        ids = [self._stoi.get(ch, UNK_ID) for ch in text]
        if add_start:
            ids.insert(0, START_ID)
        if add_end:
            ids.append(END_ID)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Maps ids back to text, stopping at the first END and dropping PAD/START.

        UNK is rendered as U+FFFD (the Unicode replacement character).
        """
        out: list[str] = []
        for i in ids:
            i = int(i)
            if i == END_ID:
                break
            if i in (PAD_ID, START_ID):
                continue
            if i == UNK_ID or not 0 <= i < len(self._itos):
                out.append("\ufffd")
            else:
                out.append(self._itos[i])
        return "".join(out)

    def unknown_characters(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that this vocabulary does not know."""
        return sorted({ch for ch in text if ch not in self._stoi})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description of the vocabulary."""
        return {"special_tokens": list(SPECIAL_TOKENS), "characters": self.characters}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`."""
        if list(data.get("special_tokens", [])) != list(SPECIAL_TOKENS):
            raise ValueError(f"unexpected special tokens {data.get('special_tokens')!r}")
        return cls(data["characters"])


def vocabularies_payload(
    source: Vocabulary, target: Vocabulary, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON content of ``vocab.json``: both vocabularies plus optional metadata."""
    return {
        "format_version": VOCAB_FORMAT_VERSION,
        "source": source.to_dict(),
        "target": target.to_dict(),
        **(metadata or {}),
    }


def vocabularies_from_payload(
    payload: dict[str, Any],
) -> tuple[Vocabulary, Vocabulary, dict[str, Any]]:
    """Inverse of :func:`vocabularies_payload`: ``(source, target, metadata)``.

    Raises:
        ValueError, KeyError, TypeError, AttributeError: the payload is malformed.
    """
    payload = dict(payload)
    source = Vocabulary.from_dict(payload.pop("source"))
    target = Vocabulary.from_dict(payload.pop("target"))
    for key in ("max_source_length", "max_target_length"):
        value = payload.get(key)
        if key in payload and (type(value) is not int or value < 1):
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    return source, target, payload


def pad_batch(sequences: Sequence[Sequence[int]], length: int | None = None) -> list[list[int]]:
    """Right-pads id sequences with ``PAD_ID`` to a common length (the longest by default)."""
    width = length if length is not None else max((len(s) for s in sequences), default=0)
    return [list(s[:width]) + [PAD_ID] * (width - len(s[:width])) for s in sequences]
