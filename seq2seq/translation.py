"""Translating strings with a trained run directory.

:class:`Translator` is the library entry point (no Hydra needed)::

    translator = Translator.from_run_dir("outputs/train/2026-11-28_12-00-00")
    translator.translate(["Nov. 28th, 2026", "le 1er mai 1999"])

:func:`translate` is the Hydra task behind ``scripts/translate.py``: translations go to
stdout (one line per input, in input order) or to ``output_file``; logs go to stderr.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, ListConfig

from seq2seq.decoding import GreedyDecoder
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


def _layer_vocab_size(layer) -> int:
    return int(getattr(layer, "input_dim", None) or layer.depth)


class Translator:
    """Greedy batched translation of strings with a trained model and its vocabularies."""

    def __init__(
        self,
        model: Seq2Seq,
        source_vocab: Vocabulary,
        target_vocab: Vocabulary,
        max_output_length: int = 100,
    ) -> None:
        """Binds a model to its vocabularies.

        Args:
            model: the trained encoder-decoder.
            source_vocab: vocabulary the model was trained with, for sources.
            target_vocab: vocabulary the model was trained with, for targets.
            max_output_length: default cap on output characters (END included).

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
        self._decoder = GreedyDecoder(model)

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
        try:
            return cls(model, source_vocab, target_vocab, max_output_length=max_output_length)
        except Seq2SeqError as exc:
            raise Seq2SeqError(f"{run_dir}: {exc}") from None

    def translate(
        self, texts: Sequence[str], batch_size: int = 256, max_length: int | None = None
    ) -> list[str]:
        """Translates ``texts``, returning exactly one string per input, in input order.

        Inputs are sorted by length into batches of ``batch_size`` (less padding), each batch
        decoded at once. Characters unknown to the source vocabulary become UNK, with one
        warning listing them.

        Args:
            texts: source strings.
            batch_size: sequences decoded together.
            max_length: cap on output characters (default: from the training data).
        """
        if batch_size < 1:
            raise Seq2SeqError(f"batch_size must be positive, got {batch_size}")
        max_length = int(max_length or self.max_output_length)
        cleaned = [normalize_input(t) for t in texts]
        unknown = sorted({ch for t in cleaned for ch in self.source_vocab.unknown_characters(t)})
        if unknown:
            log.warning(
                "%d character(s) unknown to the model, read as <unk>: %s",
                len(unknown),
                " ".join(repr(ch) for ch in unknown[:30]) + (" ..." if len(unknown) > 30 else ""),
            )
        encoded = [self.source_vocab.encode(t) for t in cleaned]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results: list[str] = [""] * len(encoded)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = pad_batch([encoded[i] for i in idx])
            if not batch[0]:  # every input of this batch is empty
                batch = [[0] for _ in batch]
            ids = self._decoder(np.asarray(batch, np.int32), max_length)
            for row, i in zip(ids, idx, strict=True):
                results[i] = self.target_vocab.decode(row) if encoded[i] else ""
        return results


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


def translate(cfg: DictConfig) -> list[str]:
    """Hydra task: translates the configured inputs with the run in ``cfg.run_dir``.

    Writes one translation per input line to ``cfg.output_file`` (atomically) or to stdout.

    Returns:
        The translations.
    """
    run_dir = cfg.get("run_dir")
    if not run_dir:
        raise Seq2SeqError("run_dir is required: translate.py run_dir=outputs/train/<run>")
    batch_size = int(cfg.get("batch_size", 256))
    if batch_size < 1:
        raise Seq2SeqError(f"batch_size must be positive, got {batch_size}")
    max_length = cfg.decoding.get("max_length") if "decoding" in cfg else None
    if max_length is not None and int(max_length) < 1:
        raise Seq2SeqError(f"decoding.max_length must be positive, got {max_length}")

    translator = Translator.from_run_dir(run_dir)
    texts = _read_inputs(cfg)
    log.info("translating %d input(s) with %s", len(texts), run_dir)
    outputs = translator.translate(texts, batch_size=batch_size, max_length=max_length)

    output_file = cfg.get("output_file")
    if output_file:
        path = Path(output_file)
        if not path.parent.is_dir():
            raise Seq2SeqError(f"output directory not found: {path.parent}")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(o + "\n" for o in outputs), encoding="utf-8")
        tmp.replace(path)
        log.info("wrote %d translation(s) to %s", len(outputs), path)
    else:
        sys.stdout.write("".join(o + "\n" for o in outputs))
        sys.stdout.flush()
    return outputs
