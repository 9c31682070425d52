"""Translating strings with a trained run directory.

:class:`Translator` is the library entry point (no Hydra needed)::

    translator = Translator.from_run_dir("outputs/train/2026-11-28_12-00-00")
    translator.translate(["Nov. 28th, 2026", "le 1er mai 1999"])

:func:`translate` is the Hydra task behind ``scripts/translate.py``: translations go to
stdout (one line per input, in input order) or to ``output_file``; logs go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, ListConfig

from seq2seq.decoding import DECODERS, Decoder
from seq2seq.errors import Seq2SeqError
from seq2seq.model import (
    OUTPUT_LAYER,
    SOURCE_EMBEDDING,
    TARGET_EMBEDDING,
    Seq2Seq,
    load_seq2seq,
)
from seq2seq.vocab import Vocabulary, load_vocabularies, pad_batch

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
VOCAB_FILE = "vocab.json"


def normalize_input(text: str) -> str:
    """Strips the ends of ``text`` and collapses inner runs of whitespace to one space."""
    return " ".join(text.split())


def default_max_output_length(longest_target: int) -> int:
    """Default cap on output characters: twice the longest training target (at least +10)."""
    return max(2 * longest_target, longest_target + 10)


def default_max_input_length(longest_source: int) -> int:
    """Inputs beyond this are cut: four times the longest training source (at least 64)."""
    return max(4 * longest_source, 64)


def _layer_vocab_size(layer) -> int:
    return int(getattr(layer, "input_dim", None) or layer.depth)


class Translator:
    """Batched translation of strings with a trained model and its vocabularies."""

    def __init__(
        self,
        model: Seq2Seq,
        source_vocab: Vocabulary,
        target_vocab: Vocabulary,
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
            ("source", source_vocab, _layer_vocab_size(model.training.get_layer(SOURCE_EMBEDDING))),
            ("target", target_vocab, _layer_vocab_size(model.training.get_layer(TARGET_EMBEDDING))),
            ("target", target_vocab, int(model.training.get_layer(OUTPUT_LAYER).layer.units)),
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
        self._decoders: dict[tuple[str, bool], Decoder] = {}

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> Translator:
        """Loads ``model.keras`` and ``vocab.json`` from a training run directory.

        Raises:
            Seq2SeqError: the directory is missing, incomplete or inconsistent.
        """
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise Seq2SeqError(f"run directory not found: {run_dir}")
        missing = [name for name in (MODEL_FILE, VOCAB_FILE) if not (run_dir / name).is_file()]
        if missing:
            raise Seq2SeqError(
                f"run directory {run_dir} is incomplete: missing {', '.join(missing)}"
                " (did training finish?)"
            )
        source_vocab, target_vocab, meta = load_vocabularies(run_dir / VOCAB_FILE)
        model = load_seq2seq(run_dir / MODEL_FILE)
        max_output_length = default_max_output_length(int(meta.get("max_target_length", 50)))
        max_input_length = default_max_input_length(int(meta.get("max_source_length", 50)))
        try:
            return cls(model, source_vocab, target_vocab, max_output_length, max_input_length)
        except Seq2SeqError as exc:
            raise Seq2SeqError(f"{run_dir}: {exc}") from None

    def decoder(self, name: str = "greedy", jit_compile: bool = False) -> Decoder:
        """The compiled decoder ``name`` (``greedy``, ``beam``, ``sample``), built once."""
        if name not in DECODERS:
            raise Seq2SeqError(f"unknown decoding {name!r}; choose one of {list(DECODERS)}")
        key = (name, bool(jit_compile))
        if key not in self._decoders:
            self._decoders[key] = DECODERS[name](self.model, jit_compile=bool(jit_compile))
        return self._decoders[key]

    def candidates(
        self,
        texts: Sequence[str],
        decoding: str = "greedy",
        n_best: int = 1,
        batch_size: int = 256,
        max_length: int | None = None,
        progress: bool = False,
        jit_compile: bool = False,
        **params: Any,
    ) -> list[list[tuple[str, float]]]:
        """Translates ``texts``, returning up to ``n_best`` ``(translation, score)`` per input.

        Inputs are sorted by length into batches of ``batch_size`` (less padding), each batch
        decoded at once by one compiled loop. Characters unknown to the source vocabulary
        become UNK, with one warning listing them. An empty input gives ``[("", 0.0)]``.

        Args:
            texts: source strings.
            decoding: ``greedy``, ``beam`` or ``sample``.
            n_best: candidates per input (beam search can return up to ``beam_size``).
            batch_size: sequences decoded together.
            max_length: cap on output characters (default: from the training data).
            progress: show a progress bar on stderr.
            jit_compile: run the decode loop as one XLA program (faster; each new batch
                shape compiles once, so source widths are padded to multiples of 16).
            **params: decoder parameters (``beam_size``, ``length_penalty``, ``temperature``,
                ``top_k``, ``seed``).
        """
        if batch_size < 1:
            raise Seq2SeqError(f"batch_size must be positive, got {batch_size}")
        decoder = self.decoder(decoding, jit_compile)
        max_length = int(max_length or self.max_output_length)
        cleaned = [normalize_input(t) for t in texts]
        limit = self.max_input_length
        if limit and any(len(t) > limit for t in cleaned):
            cut = sum(len(t) > limit for t in cleaned)
            log.warning("%d input(s) longer than %d characters were cut to that length", cut, limit)
            cleaned = [t[:limit] for t in cleaned]
        unknown = sorted({ch for t in cleaned for ch in self.source_vocab.unknown_characters(t)})
        if unknown:
            log.warning(
                "%d character(s) unknown to the model, read as <unk>: %s",
                len(unknown),
                " ".join(repr(ch) for ch in unknown[:30]) + (" ..." if len(unknown) > 30 else ""),
            )
        encoded = [self.source_vocab.encode(t) for t in cleaned]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results: list[list[tuple[str, float]]] = [[("", 0.0)] for _ in encoded]
        bar = Progress(len(encoded), enabled=progress)
        for start in range(0, len(order), batch_size):
            idx = [i for i in order[start : start + batch_size] if encoded[i]]
            if idx:
                width = max(len(encoded[i]) for i in idx)
                if jit_compile:  # fewer distinct shapes, fewer XLA compilations
                    width = -(-width // 16) * 16
                batch = np.asarray(pad_batch([encoded[i] for i in idx], width), np.int32)
                hyps = decoder(batch, max_length, n_best=n_best, **params)
                for row, i in enumerate(idx):
                    results[i] = [
                        (self.target_vocab.decode(ids), float(score))
                        for ids, score in zip(hyps.ids[row], hyps.scores[row], strict=True)
                    ]
            bar.update(min(start + batch_size, len(order)))
        bar.close()
        return results

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
        return [c[0][0] for c in best]


class Progress:
    """A one-line progress bar on stderr (nothing when disabled or for tiny jobs)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.start = time.perf_counter()
        self._last = 0.0

    def update(self, done: int) -> None:
        """Redraws the bar at most ten times a second (and always at the end)."""
        now = time.perf_counter()
        if not self.enabled or (now - self._last < 0.1 and done < self.total):
            return
        self._last = now
        rate = done / max(now - self.start, 1e-9)
        filled = int(30 * done / self.total)
        sys.stderr.write(
            f"\rtranslating [{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total}"
            f" ({rate:,.0f} inputs/s)"
        )
        sys.stderr.flush()

    def close(self) -> None:
        """Ends the bar's line."""
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _read_inputs(cfg: DictConfig) -> list[str]:
    """The inputs named by the config: ``inputs``, else ``input_file``, else stdin."""
    inputs = cfg.get("inputs")
    input_file = cfg.get("input_file")
    if inputs is not None and input_file:
        raise Seq2SeqError("give either inputs=... or input_file=..., not both")
    if inputs is not None:
        if isinstance(inputs, (list, tuple, ListConfig)):
            return [str(x) for x in inputs]
        return [str(inputs)]
    if input_file:
        path = Path(input_file)
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise Seq2SeqError(f"input file not found: {path}") from None
        except UnicodeDecodeError as exc:
            raise Seq2SeqError(f"input file {path} is not UTF-8 (byte {exc.start})") from None
        except OSError as exc:
            raise Seq2SeqError(f"cannot read input file {path}: {exc.strerror}") from None
    if sys.stdin.isatty():
        log.info("reading inputs from stdin, one per line (end with Ctrl-D)")
    return sys.stdin.read().splitlines()


def decoding_options(decoding: DictConfig | dict, seed: int | None = None) -> dict[str, Any]:
    """Checks a ``decoding`` config and turns it into :meth:`Translator.candidates` arguments.

    Raises:
        Seq2SeqError: an unknown decoding name or a value out of range, naming the key.
    """
    d = dict(decoding)
    name = d.pop("name", "greedy")
    if name not in DECODERS:
        raise Seq2SeqError(f"decoding={name!r} is unknown; choose one of {list(DECODERS)}")
    options: dict[str, Any] = {"decoding": name, "max_length": d.pop("max_length", None)}
    options["jit_compile"] = bool(d.pop("jit_compile", False))
    options["n_best"] = int(d.pop("n_best", 1) or 1)

    def check(key: str, ok: bool, what: str) -> None:
        if not ok:
            raise Seq2SeqError(f"decoding.{key} must be {what}, got {decoding[key]!r}")

    if options["max_length"] is not None:
        check("max_length", int(options["max_length"]) >= 1, "a positive integer")
    check("n_best", options["n_best"] >= 1, "a positive integer")
    allowed = set(DECODERS[name].params)
    for key, value in d.items():
        if key not in allowed:
            raise Seq2SeqError(f"decoding.{key} does not apply to decoding={name}")
        options[key] = value
    if name == "beam":
        check("beam_size", int(options.get("beam_size", 5)) >= 1, "a positive integer")
        check("n_best", options["n_best"] <= int(options.get("beam_size", 5)), "at most beam_size")
        check("length_penalty", float(options.get("length_penalty", 0.0)) >= 0, "0 or more")
    elif options["n_best"] > 1:
        raise Seq2SeqError(f"decoding.n_best > 1 needs decoding=beam (got decoding={name})")
    if name == "sample":
        check("temperature", float(options.get("temperature", 1.0)) > 0, "positive")
        check("top_k", int(options.get("top_k", 0)) >= 0, "0 (off) or more")
        options["seed"] = int(seed) if seed is not None else int.from_bytes(os.urandom(3), "big")
    return options


def format_candidates(candidates: list[list[tuple[str, float]]]) -> str:
    """n-best output: one ``input_index<TAB>rank<TAB>score<TAB>translation`` line per candidate.

    ``input_index`` counts input lines from 0, ``rank`` counts from 1 (best first) and
    ``score`` is the candidate's (length-normalised) log-probability with 4 decimals.
    """
    return "".join(
        f"{i}\t{rank}\t{score:.4f}\t{text}\n"
        for i, cands in enumerate(candidates)
        for rank, (text, score) in enumerate(cands, 1)
    )


def translate(cfg: DictConfig) -> list[str]:
    """Hydra task: translates the configured inputs with the run in ``cfg.run_dir``.

    Writes one translation per input line to ``cfg.output_file`` (atomically) or to stdout;
    with ``decoding.n_best > 1``, the lines of :func:`format_candidates` instead.

    Returns:
        The best translation of each input.
    """
    run_dir = cfg.get("run_dir")
    if not run_dir:
        raise Seq2SeqError("run_dir is required: translate.py run_dir=outputs/train/<run>")
    batch_size = cfg.get("batch_size", 256)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise Seq2SeqError(f"batch_size must be a positive integer, got {batch_size!r}")
    options = decoding_options(cfg.get("decoding") or {"name": "greedy"}, cfg.get("seed"))
    output_file = cfg.get("output_file")
    if output_file and not Path(output_file).parent.is_dir():
        raise Seq2SeqError(f"output directory not found: {Path(output_file).parent}")

    translator = Translator.from_run_dir(run_dir)
    texts = _read_inputs(cfg)
    log.info("translating %d input(s) with %s (%s)", len(texts), run_dir, options["decoding"])
    candidates = translator.candidates(
        texts, batch_size=batch_size, progress=len(texts) > batch_size, **options
    )
    if options["n_best"] > 1:
        text = format_candidates(candidates)
    else:
        text = "".join(c[0][0] + "\n" for c in candidates)

    if output_file:
        path = Path(output_file)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        log.info("wrote %d translation(s) to %s", len(candidates), path)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return [c[0][0] for c in candidates]
