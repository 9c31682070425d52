"""The default vocabulary: one id per character (``vocab=char``).

Built from every character of the training split (sorted, so ids are stable); a character
never seen in training reads as UNK. ``vocab.json`` lists the characters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seq2seq.vocab.base import (
    END_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    START_ID,
    UNK_ID,
    UNK_TEXT,
    VOCABULARIES,
    PaddedIds,
    TokenVocabulary,
    VocabOptions,
)

#: Batches of fewer texts are encoded and decoded one by one, not by numpy at once.
SMALL_BATCH = 16


@dataclass(frozen=True)
class CharOptions(VocabOptions):
    """``vocab=char`` has no settings: every training character gets an id."""


@VOCABULARIES.register("char")
class Vocabulary(TokenVocabulary):
    """A bijection between characters and ids, plus the four reserved tokens."""

    options = CharOptions
    unit = "characters"
    kept_on_resume = False  # built again on resume: a changed corpus is then refused

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
        # For the batch methods: the characters' code points (sorted) and their ids; each
        # id's text as a one-character string ("" for PAD and START).
        # A last code past Unicode's (UNK) keeps every lookup in range, even with no characters.
        codes = sorted(map(ord, self._stoi))
        ids = [self._stoi[chr(c)] for c in codes]
        self._codes = np.array([*codes, 2**32 - 1], np.uint32), np.array([*ids, UNK_ID], np.int32)
        self._table = np.array(["", "", "", UNK_TEXT, *chars], "<U1")

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Builds a vocabulary from every character of ``texts``, sorted for stable ids.

        Args:
            texts: the training texts.
            min_count: characters seen fewer times than this are left out (they become UNK).
        """
        counts = Counter(ch for text in texts for ch in text)
        return cls(sorted(ch for ch, n in counts.items() if n >= min_count))

    @classmethod
    def build_pair(
        cls, options: Any, pairs: Iterable[tuple[str, str]], profile: Any = None
    ) -> tuple[Vocabulary, Vocabulary]:
        """Vocabularies of the characters of the training pairs (``profile``'s character
        sets when given: a streamed split is then not read again)."""
        if profile is not None:
            return cls.build(profile.source_chars), cls.build(profile.target_chars)
        pairs = list(pairs)
        return cls.build(s for s, _ in pairs), cls.build(t for _, t in pairs)

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
                out.append(UNK_TEXT)
            else:
                out.append(self._itos[i])
        return "".join(out)

    def encode_padded(self, texts: Sequence[str]) -> PaddedIds:
        """:meth:`encode` of each of ``texts`` as one padded array: every character of the
        batch looked up by numpy at once."""
        if len(texts) < SMALL_BATCH:  # numpy's set-up costs more than a few lookups
            return super().encode_padded(texts)
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        found = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), np.uint32)
        codes, ids = self._codes
        at = np.searchsorted(codes, found)
        known = codes[at] == found
        flat = np.where(known, ids[at], UNK_ID).astype(np.int32)
        unknown = map(chr, np.unique(found[~known]).tolist())
        return PaddedIds.from_flat(flat, lengths, unknown)

    def decode_batch(self, ids: Any) -> list[str]:
        """:meth:`decode` of each row of a ``[rows, steps]`` id array, the lookups done by
        numpy at once (a decoded batch of thousands is one pass, not one per id)."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or len(ids) < SMALL_BATCH or ids.shape[1] == 0 or "\0" in self._stoi:
            return [self.decode(row) for row in ids]
        index = np.where((ids >= 0) & (ids < len(self._itos)), ids, UNK_ID)
        ended = np.cumsum(ids == END_ID, axis=1) > 0  # END and what follows read as nothing
        index[ended] = PAD_ID
        # Each row's characters as one fixed-width string: numpy drops its trailing "\0"s.
        texts = self._table[index].view(f"<U{ids.shape[1]}").ravel().tolist()
        inner = (ids == PAD_ID) | (ids == START_ID)  # nothing inside a row: decoded one by one
        for row in np.flatnonzero((inner & ~ended).any(axis=1)).tolist():
            texts[row] = self.decode(ids[row])
        return texts

    def tokens(self, ids: Iterable[int]) -> list[str]:
        """One character per id (UNK as U+FFFD)."""
        return list(self.decode(ids))

    def unknown_characters(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that this vocabulary does not know."""
        return sorted({ch for ch in text if ch not in self._stoi})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description of the vocabulary."""
        return {"special_tokens": list(SPECIAL_TOKENS), "characters": self.characters}

    @classmethod
    def from_dict(cls, data: dict[str, Any], directory: Path | None = None) -> Vocabulary:
        """Inverse of :meth:`to_dict` (no files: ``directory`` is not read)."""
        if list(data.get("special_tokens", [])) != list(SPECIAL_TOKENS):
            raise ValueError(f"unexpected special tokens {data.get('special_tokens')!r}")
        return cls(data["characters"])

    def graph(self) -> Any:
        """Lookup tables: code point -> id, id -> string."""
        from seq2seq.vocab.graph import CharGraph

        return CharGraph(self.characters)
