"""Translating strings with a trained run directory.

:class:`Translator` is the library entry point (no Hydra needed)::

    translator = Translator.from_run_dir("outputs/train/2026-11-28_12-00-00")
    translator.translate(["Nov. 28th, 2026", "le 1er mai 1999"])

The ``s2s-translate`` command is :mod:`seq2seq.tasks.translate`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from seq2seq.alignment import Aligner, Alignment
from seq2seq.checks import positive
from seq2seq.decoding import MAX_LENGTH, SEARCH_RULES, SearchRule
from seq2seq.errors import Seq2SeqError
from seq2seq.models import Seq2SeqModel, load_model
from seq2seq.options.decoding import LoopControls
from seq2seq.progress import Progress
from seq2seq.rundir import MODEL_FILE, VOCAB_FILE, RunDir
from seq2seq.text import default_max_input_length, default_max_output_length, normalize_input
from seq2seq.vocab import PAD_ID, TokenVocabulary, pad_batch
from seq2seq.vocab.base import PaddedIds
from seq2seq.vocab.store import read_run_vocab

log = logging.getLogger(__name__)


class Candidate(NamedTuple):
    """One translation of an input and its score (log-probability, length-normalised for
    beam search with a length penalty)."""

    text: str
    score: float


class Translator:
    """Batched translation of strings with a trained model and its vocabularies."""

    def __init__(
        self,
        model: Seq2SeqModel,
        source_vocab: TokenVocabulary,
        target_vocab: TokenVocabulary,
        max_output_length: int = 100,
        max_input_length: int | None = None,
    ) -> None:
        """Binds a model to its vocabularies.

        Args:
            model: the trained encoder-decoder.
            source_vocab: vocabulary the model was trained with, for sources.
            target_vocab: vocabulary the model was trained with, for targets.
            max_output_length: default cap on output characters (END included).
            max_input_length: longer inputs are cut to this many characters, with a
                warning (None: no limit).

        Raises:
            Seq2SeqError: the vocabularies do not match the model's layer sizes.
        """
        checks = (
            ("source", source_vocab, model.source_vocab_size),
            ("target", target_vocab, model.target_vocab_size),
        )
        for side, vocab, size in checks:
            if len(vocab) != size:
                raise Seq2SeqError(
                    f"{side} vocabulary has {len(vocab)} entries but the model expects {size}"
                )
        self.model = model
        self.source_vocab = source_vocab
        self.target_vocab = target_vocab
        self.max_output_length = int(max_output_length)
        self.max_input_length = int(max_input_length) if max_input_length else None
        self._searches: dict[tuple[str, bool], SearchRule] = {}
        self._warned_unknown: set[str] = set()
        #: Known answers: normalised input -> its translations, best first (a lexicon file,
        #: ``seq2seq.lexicon.read_lexicon``); :meth:`candidates` gives them before the model.
        self.lexicon: dict[str, tuple[str, ...]] = {}
        #: Another engine for the settings it serves (``serves(...)``, ``candidates(texts,
        #: batch_size)``): a LiteRT export of this model (:class:`seq2seq.litert.LiteRTEngine`).
        self.engine: Any = None
        self._aligner: Aligner | None = None

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> Translator:
        """Loads ``model.keras`` and ``vocab.json`` from a training run directory.

        Raises:
            Seq2SeqError: the directory is missing, incomplete or inconsistent.
        """
        run = RunDir(Path(run_dir))
        run.require(MODEL_FILE, VOCAB_FILE)
        source_vocab, target_vocab, meta = read_run_vocab(run)
        model = load_model(run.model_file)
        # vocab.json's lengths are checked when it is read; outputs stay within MAX_LENGTH.
        max_output_length = default_max_output_length(int(meta.get("max_target_length", 50)))
        max_input_length = default_max_input_length(int(meta.get("max_source_length", 50)))
        try:
            return cls(model, source_vocab, target_vocab, max_output_length, max_input_length)
        except Seq2SeqError as exc:
            raise Seq2SeqError(f"{run_dir}: {exc}") from None

    @classmethod
    def from_run_dirs(cls, run_dirs: Sequence[str | Path]) -> Translator:
        """One run (:meth:`from_run_dir`), or an ensemble of several that share their
        vocabularies (:class:`~seq2seq.models.ensemble.Ensemble`: the mean of their
        next-character probabilities), decoded like one model.

        Raises:
            Seq2SeqError: a run is unusable, or the runs' vocabularies differ.
        """
        from seq2seq.models.ensemble import Ensemble

        translators = [cls.from_run_dir(run_dir) for run_dir in run_dirs]
        if not translators:
            raise Seq2SeqError("no run directory given")
        if len(translators) == 1:
            return translators[0]
        first = translators[0]
        for run_dir, other in zip(run_dirs[1:], translators[1:], strict=True):
            same = (other.source_vocab, other.target_vocab) == (
                first.source_vocab,
                first.target_vocab,
            )
            if not same:
                raise Seq2SeqError(
                    f"{run_dir} and {run_dirs[0]} have different vocabularies: an ensemble"
                    " needs runs trained on the same characters (e.g. the same data, other seeds)"
                )
        return cls(
            Ensemble([t.model for t in translators]),
            first.source_vocab,
            first.target_vocab,
            max(t.max_output_length for t in translators),
            max(t.max_input_length or 0 for t in translators) or None,
        )

    def search(self, name: str = "greedy", jit_compile: bool = False) -> SearchRule:
        """The compiled search rule ``name`` (``greedy``, ``beam``, ``sample``), built once."""
        rule = SEARCH_RULES.get(name)
        key = (name, bool(jit_compile))
        if key not in self._searches:
            self._searches[key] = rule(self.model, jit_compile=bool(jit_compile))
        return self._searches[key]

    def candidates(
        self, texts: Sequence[str], prefixes: Sequence[str | None] | None = None, **options: Any
    ) -> list[list[Candidate]]:
        """Translates ``texts``, up to ``n_best`` candidates per input, best first: an input
        that :attr:`lexicon` holds gets its entries (score 0.0; with a prefix, those that
        start with it), every other one the model's (:meth:`model_candidates`, whose keyword
        arguments ``options`` are)."""
        if prefixes is not None and len(prefixes) != len(texts):
            raise Seq2SeqError(
                f"{len(prefixes)} prefixes for {len(texts)} inputs: give one per input"
            )
        if not self.lexicon:
            return self.model_candidates(texts, prefixes=prefixes, **options)
        n_best, pre = options.get("n_best", 1), prefixes or [None] * len(texts)
        found: list[list[Candidate] | None] = []
        for text, prefix in zip(texts, pre, strict=True):
            known = self.lexicon.get(normalize_input(text), ())
            known = [Candidate(t, 0.0) for t in known if t.startswith(prefix or "")][:n_best]
            found.append(known or None)
        rest = [i for i, cands in enumerate(found) if cands is None]
        if rest:
            decoded = self.model_candidates([texts[i] for i in rest],
                                            prefixes=[pre[i] for i in rest], **options)  # fmt: skip
            for i, cands in zip(rest, decoded, strict=True):
                found[i] = cands
        return found

    def model_candidates(
        self,
        texts: Sequence[str],
        decoding: str = "greedy",
        n_best: int = 1,
        batch_size: int = 256,
        max_length: int | None = None,
        progress: bool = False,
        jit_compile: bool = False,
        params: Any = None,
        sort_by_length: bool = True,
        controls: LoopControls | None = None,
        prefixes: Sequence[str | None] | None = None,
        **param_values: Any,
    ) -> list[list[Candidate]]:
        """The model's translations of ``texts``, up to ``n_best`` per input, best first.

        Inputs are sorted by length into batches of ``batch_size`` (fewer padded encoder
        steps), each decoded by one compiled loop (or :attr:`engine`, for the settings it
        serves). Unknown characters read as UNK (one warning). An empty input: ``("", 0.0)``.

        Args:
            texts: source strings.
            decoding, n_best: ``greedy``, ``beam`` or ``sample``; candidates per input.
            batch_size: sequences decoded together.
            max_length: cap on output tokens (default: from the training data).
            progress: show progress on stderr (a bar at a terminal, else a log line).
            jit_compile: run the loop as one XLA program (widths padded to multiples of 16).
            params: the rule's checked parameters (``search(decoding).params(...)``), or:
            sort_by_length: batch inputs of similar length together (False: input order).
            controls: length limits per input, n-gram blocking, a repetition penalty.
            prefixes: per input, the start its translation must have (None or "": none);
                scores cover what follows it.
            **param_values: the rule's parameters (``beam_size``, ``temperature``, ...).
        """
        batch_size = positive("batch_size", batch_size)
        if max_length is not None:
            max_length = positive("max_length", max_length, at_most=MAX_LENGTH)
        search = self.search(decoding, jit_compile)
        params = params or search.params(**param_values)
        n_best = _checked_n_best(n_best, search.max_candidates(params), decoding)
        max_length = int(max_length or self.max_output_length)
        if self.engine and self.engine.serves(decoding, n_best, params, controls, max_length,
                                              prefixes):  # fmt: skip
            return self.engine.candidates(texts, batch_size)  # a LiteRT export, for one
        encoded = self.encode_batch(texts)
        forced = self.encode_prefixes(prefixes, len(texts), max_length)
        results: list[list[Candidate] | None] = [None] * len(texts)
        bar = Progress(len(texts), enabled=progress)
        for done, idx in length_batches(encoded.lengths, batch_size, sort_by_length):
            if idx.size:
                batch = source_batch(encoded, idx, jit_compile)
                prefix = _padded([forced[i] for i in idx]) if forced else None
                hyps = search(batch, max_length, n_best, controls, prefix, params=params)
                for i, cands in zip(idx.tolist(), self._candidates(hyps), strict=True):
                    results[i] = cands
            bar.update(done)
        return [found or [Candidate("", 0.0)] for found in results]

    def encode_prefixes(
        self, prefixes: Sequence[str | None] | None, count: int, max_length: int
    ) -> list[list[int]] | None:
        """The target ids of each input's forced prefix (None: no input has one).

        Raises:
            Seq2SeqError: not one prefix per input, a prefix the model cannot write (a
                character outside its target vocabulary), or one longer than ``max_length``.
        """
        if prefixes is None or not any(prefixes):
            return None
        _check_count(prefixes, count)
        found = []
        for i, prefix in enumerate(prefixes):
            text = normalize_input(prefix or "")  # a space at its end stays: "Je " then a word
            text += " " if text and prefix[-1].isspace() else ""
            unknown = self.target_vocab.unknown_characters(text)
            if unknown:
                raise Seq2SeqError(f"the prefix of input {i} has characters the model never"
                                   f" writes: {' '.join(repr(c) for c in unknown)}")  # fmt: skip
            ids = self.target_vocab.encode(text)
            if len(ids) >= max_length:
                raise Seq2SeqError(f"the prefix of input {i} is {len(ids)} tokens: it leaves no"
                                   f" room within max_length={max_length}")  # fmt: skip
            found.append(ids)
        return found

    def _candidates(self, hyps: Any) -> list[list[Candidate]]:
        """Each row's candidates of a search's ``Hypotheses``."""
        rows, n, steps = hyps.ids.shape
        texts = self.target_vocab.decode_batch(hyps.ids.reshape(rows * n, steps))
        if n == 1:
            pairs = zip(texts, hyps.scores[:, 0].tolist(), strict=True)
            return [[c] for c in map(Candidate._make, pairs)]
        scores = hyps.scores.tolist()
        return [list(map(Candidate, texts[r * n : r * n + n], scores[r])) for r in range(rows)]

    def encode_batch(self, texts: Sequence[str]) -> PaddedIds:
        """Source ids of ``texts`` in one padded array: normalised, cut to
        ``max_input_length`` and with unknown characters read as UNK (one warning for each
        kind of change; an unknown character is named once per translator, not at every
        call)."""
        cleaned = [normalize_input(t) for t in texts]
        limit = self.max_input_length
        if limit and any(len(t) > limit for t in cleaned):
            cut = sum(len(t) > limit for t in cleaned)
            log.warning("%d input(s) longer than %d characters were cut to that length", cut, limit)
            cleaned = [t[:limit] for t in cleaned]
        encoded = self.source_vocab.encode_padded(cleaned)
        unknown = sorted(encoded.unknown - self._warned_unknown)
        self._warned_unknown |= encoded.unknown
        if unknown:
            log.warning(
                "%d character(s) unknown to the model, read as <unk>: %s",
                len(unknown),
                " ".join(repr(ch) for ch in unknown[:30]) + (" ..." if len(unknown) > 30 else ""),
            )
        return encoded

    def encode_inputs(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode_batch` as one list of ids per input."""
        return self.encode_batch(texts).rows()

    def alignments(self, texts: Sequence[str]) -> list[Alignment]:
        """Greedy translations of ``texts`` with the attention weights their decoding used
        (the decoder re-reads its own output); empty for models without attention, and
        without the empty inputs."""
        return [a for a in self.aligned(texts, self.translate(texts)) if a is not None]

    def aligned(self, texts: Sequence[str], outputs: Sequence[str]) -> list[Alignment | None]:
        """The attention weights the decoder gives when it reads ``outputs[i]`` for
        ``texts[i]`` (teacher forcing), for all inputs in padded batches of one compiled
        function (a 990-character input is milliseconds, not a Python loop per step).

        Returns:
            one entry per input: None for an empty input or a model without attention.
        """
        if self._aligner is None:
            self._aligner = Aligner(self.model, self.source_vocab, self.target_vocab)
        return self._aligner.aligned(self.encode_inputs(texts), outputs)

    def translate(
        self,
        texts: Sequence[str],
        batch_size: int = 256,
        max_length: int | None = None,
        decoding: str = "greedy",
        **params: Any,
    ) -> list[str]:
        """Translates ``texts``: exactly one string per input, in input order.

        See :meth:`candidates` for the arguments; this keeps the best candidate only.
        """
        best = self.candidates(
            texts, decoding=decoding, batch_size=batch_size, max_length=max_length, **params
        )
        return [cands[0].text for cands in best]


def _check_count(prefixes: Sequence[str | None] | None, count: int) -> None:
    """Refuses prefixes that are not one per input."""
    if prefixes is not None and len(prefixes) != count:
        raise Seq2SeqError(f"{len(prefixes)} prefixes for {count} inputs: give one per input")


def length_batches(
    lengths: np.ndarray, batch_size: int, sort_by_length: bool = True
) -> Iterator[tuple[int, np.ndarray]]:
    """The inputs in batches of ``batch_size``, sorted by length (stably) or in input order:
    for each, how many inputs it and those before it hold, and its non-empty inputs'
    indices (an empty input is not decoded)."""
    order = np.argsort(lengths, kind="stable") if sort_by_length else np.arange(len(lengths))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        yield start + len(batch), batch[lengths[batch] > 0]


def source_batch(encoded: PaddedIds, rows: np.ndarray, jit_compile: bool) -> np.ndarray:
    """The ``rows`` of ``encoded``, right-padded to the longest of them; under XLA the width
    is a multiple of 16 (fewer distinct shapes, fewer compilations)."""
    width = int(encoded.lengths[rows].max())
    if jit_compile:
        width = -(-width // 16) * 16
    if width <= encoded.ids.shape[1]:
        return encoded.ids[rows, :width]
    batch = np.full((len(rows), width), PAD_ID, np.int32)
    batch[:, : encoded.ids.shape[1]] = encoded.ids[rows]
    return batch


def _padded(rows: list[list[int]]) -> np.ndarray:
    """Right-PAD-padded ids, ``[rows, longest]`` (``[rows, 0]`` when all are empty)."""
    return np.asarray(pad_batch(rows, max(map(len, rows))), np.int32).reshape(len(rows), -1)


def _checked_n_best(n_best: Any, most: int, decoding: str) -> int:
    """``n_best`` as a whole number the rule can return (at most ``most``)."""
    n_best = positive("n_best", n_best)
    if n_best > most:
        raise Seq2SeqError(f"n_best must be at most {most} for decoding={decoding}")
    return n_best
