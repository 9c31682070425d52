"""Subword vocabularies: SentencePiece models trained on the training split
(``vocab=sentencepiece``; the extra ``subword``).

SentencePiece (unigram or BPE) is trained on at most ``vocab.sample_size`` training pairs: all
of them when the split is smaller, else a uniform random sample drawn in one pass (a streamed
file is read once more, never held in memory). The model keeps the text as it is (no Unicode
normalisation: the identity rule), so decoding pieces gives back exactly the text they came
from; its ids 0..3 are this project's reserved ids, and an unknown piece reads as U+FFFD.
``vocab.shared=true`` trains one model on both sides.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seq2seq.checks import non_negative, positive, switch
from seq2seq.errors import Seq2SeqError
from seq2seq.extras import require
from seq2seq.files import read_run_bytes
from seq2seq.vocab.base import (
    END,
    END_ID,
    PAD,
    PAD_ID,
    START,
    START_ID,
    UNK,
    UNK_ID,
    UNK_TEXT,
    VOCABULARIES,
    TokenVocabulary,
    VocabOptions,
    cut_at_end,
)

log = logging.getLogger(__name__)

MODEL_TYPES = ("unigram", "bpe")


@dataclass(frozen=True)
class SentencePieceOptions(VocabOptions):
    """``vocab=sentencepiece`` settings.

    Attributes:
        size: ids per model (the four reserved ones included).
        model_type: ``unigram`` or ``bpe``.
        character_coverage: share of the training characters the pieces must cover; the
            rarest of the rest read as UNK (1.0: every character seen in training).
        shared: one model for both sides, trained on their text together.
        sample_size: train SentencePiece on at most this many training pairs (a uniform
            random sample of a bigger split).
        seed: seed of that sample and of SentencePiece's own sampling.
    """

    size: int = 4000
    model_type: str = "unigram"
    character_coverage: float = 1.0
    shared: bool = False
    sample_size: int = 1_000_000
    seed: int = 0

    def __post_init__(self) -> None:
        positive("vocab.size", self.size)
        if self.size <= len(RESERVED):
            raise Seq2SeqError(f"vocab.size must be more than {len(RESERVED)}, got {self.size}")
        if self.model_type not in MODEL_TYPES:
            raise Seq2SeqError(
                f"vocab.model_type must be one of {list(MODEL_TYPES)}, got {self.model_type!r}"
            )
        coverage = self.character_coverage
        if (
            isinstance(coverage, bool)
            or not isinstance(coverage, (int, float))
            or not (0 < coverage <= 1)
        ):
            raise Seq2SeqError(f"vocab.character_coverage must be in (0, 1], got {coverage!r}")
        switch("vocab.shared", self.shared)
        positive("vocab.sample_size", self.sample_size)
        non_negative("vocab.seed", self.seed)


#: The reserved pieces, at the reserved ids.
RESERVED = {PAD: PAD_ID, START: START_ID, END: END_ID, UNK: UNK_ID}


def _spm():
    return require("sentencepiece", "vocab=sentencepiece")


def sample_pairs(pairs: Iterable[tuple[str, str]], size: int, seed: int) -> list[tuple[str, str]]:
    """All of ``pairs`` if there are at most ``size``, else a uniform random sample of
    ``size`` of them (reservoir sampling: one pass, ``size`` pairs in memory)."""
    rng = random.Random(seed)
    kept: list[tuple[str, str]] = []
    for n, pair in enumerate(pairs):
        if n < size:
            kept.append(pair)
        else:
            j = rng.randrange(n + 1)
            if j < size:
                kept[j] = pair
    return kept


def train_model(texts: list[str], options: SentencePieceOptions, side: str) -> bytes:
    """The serialized SentencePiece model of ``texts``.

    Raises:
        Seq2SeqError: SentencePiece refused the settings (e.g. a size the text cannot fill).
    """
    spm = _spm()
    spm.set_random_generator_seed(options.seed)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            vocab_size=options.size,
            model_type=options.model_type,
            character_coverage=options.character_coverage,
            pad_id=PAD_ID, bos_id=START_ID, eos_id=END_ID, unk_id=UNK_ID,
            pad_piece=PAD, bos_piece=START, eos_piece=END, unk_piece=UNK,
            normalization_rule_name="identity",
            unk_surface=UNK_TEXT,
            input_sentence_size=0,  # the sample is drawn above, seeded
            max_sentence_length=1 << 16,
            num_threads=2,
            minloglevel=2,
        )  # fmt: skip
    except RuntimeError as exc:
        raise Seq2SeqError(_training_error(_reason(exc), side)) from None
    return model.getvalue()


def _training_error(reason: str, side: str) -> str:
    """SentencePiece's refusal in this project's words."""
    text = "source and target" if side == "shared" else side
    small = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", reason)
    if small:
        return (
            f"vocab.size={small[1]} is too small for the {text} training text: its characters"
            f" need {small[2]} ids (the 4 reserved included); raise vocab.size or lower"
            " vocab.character_coverage"
        )
    large = re.search(r"too high \((\d+)\)\. Please set it to a value <= (\d+)", reason)
    if large:
        return (
            f"vocab.size={large[1]} is larger than the {text} training text supports"
            f" (at most {large[2]} pieces): lower vocab.size"
        )
    return f"vocab: SentencePiece cannot train the {side} model: {reason}"


def _reason(exc: Exception) -> str:
    """SentencePiece's message without its source location and check, with our settings'
    names (``Vocabulary size is smaller than required_chars. 60 vs 67. ...``)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r"^.*?\.cc\(\d+\)\s*(\[.*?\]\s*)?", "", text)
    text = re.sub(r"\s*with --\S+ option", "", text)
    return text.replace("vocab_size", "vocab.size").replace(
        "character_coverage", "vocab.character_coverage"
    )


@VOCABULARIES.register("sentencepiece")
class SentencePieceVocabulary(TokenVocabulary):
    """One side's SentencePiece model (its serialized bytes, saved as ``<role>.model``)."""

    options = SentencePieceOptions
    unit = "pieces"

    def __init__(self, model: bytes, role: str = "source", model_type: str = "unigram") -> None:
        """Wraps a serialized model.

        Args:
            model: the ``.model`` file's bytes.
            role: ``source``, ``target`` or ``shared``: the file's name.
            model_type: what trained it, for the record.

        Raises:
            ValueError: the bytes are not a SentencePiece model with the reserved pieces.
        """
        spm = _spm()
        self.processor = spm.SentencePieceProcessor()
        try:
            self.processor.LoadFromSerializedProto(model)
        except (RuntimeError, OSError, TypeError) as exc:
            raise ValueError(f"not a SentencePiece model ({_reason(exc)})") from None
        for piece, i in RESERVED.items():
            if self.processor.piece_to_id(piece) != i:
                raise ValueError(f"not a model of this project: {piece} is not id {i}")
        self.model, self.role, self.model_type = bytes(model), role, model_type
        self._unknown: dict[str, bool] = {}

    @classmethod
    def build_pair(
        cls, options: Any, pairs: Iterable[tuple[str, str]], profile: Any = None
    ) -> tuple[SentencePieceVocabulary, SentencePieceVocabulary]:
        """SentencePiece models of (a sample of) the training pairs."""
        sample = sample_pairs(pairs, options.sample_size, options.seed)
        log.info("training SentencePiece (%s, %d ids%s) on %d training pairs",
                 options.model_type, options.size, ", shared" if options.shared else "",
                 len(sample))  # fmt: skip
        sources, targets = [s for s, _ in sample], [t for _, t in sample]
        if options.shared:
            shared = cls(train_model(sources + targets, options, "shared"), "shared",
                         options.model_type)  # fmt: skip
            return shared, shared
        source = cls(train_model(sources, options, "source"), "source", options.model_type)
        target = cls(train_model(targets, options, "target"), "target", options.model_type)
        return source, target

    @property
    def file_name(self) -> str:
        """The model's file name in the run's tokenizer directory."""
        return f"{self.role}.model"

    def __len__(self) -> int:
        return int(self.processor.get_piece_size())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SentencePieceVocabulary) and self.model == other.model

    def __hash__(self) -> int:
        return hash(self.model)

    def __repr__(self) -> str:
        return f"SentencePieceVocabulary({self.role}, size={len(self)})"

    def encode(self, text: str, add_start: bool = False, add_end: bool = False) -> list[int]:
        ids = list(self.processor.encode(text)) if text else []
        return [START_ID] * add_start + ids + [END_ID] * add_end

    def decode(self, ids: Iterable[int]) -> str:
        return self.processor.decode(self._known(cut_at_end(ids)))

    def tokens(self, ids: Iterable[int]) -> list[str]:
        pieces = [self.processor.id_to_piece(i) for i in self._known(cut_at_end(ids))]
        return [UNK_TEXT if p == UNK else p for p in pieces]

    def _known(self, ids: list[int]) -> list[int]:
        size = len(self)
        return [i if 0 <= i < size else UNK_ID for i in ids]

    def unknown_characters(self, text: str) -> list[str]:
        for ch in set(text) - self._unknown.keys():
            self._unknown[ch] = not ch.isspace() and self.processor.piece_to_id(ch) == UNK_ID
        return sorted(ch for ch in set(text) if self._unknown[ch])

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.name,
            "model_file": self.file_name,
            "sha256": hashlib.sha256(self.model).hexdigest(),
            "size": len(self),
            "model_type": self.model_type,
        }

    def save_files(self, directory: Path) -> None:
        from seq2seq.files import atomic_write

        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / self.file_name, lambda tmp: tmp.write_bytes(self.model))

    @classmethod
    def from_dict(cls, data: dict[str, Any], directory: Path) -> SentencePieceVocabulary:
        name = str(data["model_file"])
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"model_file must be a file name, got {name!r}")
        path = Path(directory) / name
        try:
            model = read_run_bytes(path, "SentencePiece model")
        except FileNotFoundError:
            raise Seq2SeqError(f"SentencePiece model not found: {path}") from None
        except OSError as exc:
            raise Seq2SeqError(f"cannot read {path}: {exc.strerror or exc}") from None
        if hashlib.sha256(model).hexdigest() != data.get("sha256"):
            raise Seq2SeqError(f"{path} is damaged or replaced: it is not the model vocab.json"
                               " was written with (SHA-256 differs)")  # fmt: skip
        try:
            vocab = cls(model, name.removesuffix(".model"), str(data.get("model_type", "")))
        except ValueError as exc:
            raise Seq2SeqError(f"{path}: {exc}") from None
        if len(vocab) != data.get("size"):
            size = data.get("size")
            raise Seq2SeqError(f"{path} has {len(vocab)} pieces, vocab.json says {size!r}")
        return vocab

    def graph(self) -> Any:
        from seq2seq.vocab.graph import SentencePieceGraph

        return SentencePieceGraph(self.model, name=f"{self.role}_sentencepiece")
