"""A reference client for a LiteRT export: ``ai_edge_litert`` + numpy, nothing else.

``s2s-export format=litert`` copies this file into the export directory as
``translate.py``, beside ``model.tflite`` and ``litert.json`` (the vocabularies and what
the model was exported with). It imports neither TensorFlow nor ``seq2seq``: it is what an
app developer ports to a phone or a small box (Kotlin, Swift, C++), ~150 lines::

    from translate import LiteRTTranslator          # from the export directory
    translator = LiteRTTranslator("exported")
    translator.translate(["Nov 28, 2026"])          # ['2026-11-28']

or from a shell, one input per line::

    python exported/translate.py < inputs.txt

What it does, in order (the model does everything between ids in and ids out):

1. normalise each input as the framework does (ends stripped, inner whitespace runs to one
   space) and cut it to ``max_input_length`` characters;
2. map it to ids: characters through ``source_characters`` (unknown ones to ``unk_id``),
   or, for a SentencePiece run, with the ``sentencepiece`` package and the shipped
   ``.model`` file (on a device: SentencePiece's C++ library, or any port that reads it);
3. pad a batch with ``pad_id`` on the right and run the ``translate`` signature: ``source``
   ``[batch, time]`` int32 in; ``ids`` ``[batch, n_best, steps]`` int32 and ``scores``
   ``[batch, n_best]`` float32 out;
4. read each row's ids up to the first ``end_id`` back into text.

An empty input gives an empty translation without running the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

#: The description of the export, beside the model.
SPEC_FILE = "litert.json"
MODEL_FILE = "model.tflite"


class Candidate(NamedTuple):
    """One translation and its score (summed log-probability; length-normalised for beam
    search with a length penalty)."""

    text: str
    score: float


def normalize_input(text: str) -> str:
    """Strips the ends and collapses inner runs of whitespace to one space."""
    return " ".join(text.split())


class CharacterCodec:
    """Characters to ids and back, with the reserved ids of ``litert.json``."""

    def __init__(self, characters: list[str], spec: dict) -> None:
        self.first = len(spec["special_tokens"])
        self.itos = list(characters)
        self.stoi = {ch: i for i, ch in enumerate(characters, self.first)}
        self.unk, self.end, self.pad = spec["unk_id"], spec["end_id"], spec["pad_id"]
        self.unk_text = spec["unk_text"]

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(ch, self.unk) for ch in text]

    def decode(self, ids) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == self.end:
                break
            if i < self.first:  # PAD and START read as nothing, UNK as U+FFFD
                out.append(self.unk_text if i == self.unk else "")
            else:
                index = i - self.first
                out.append(self.itos[index] if index < len(self.itos) else self.unk_text)
        return "".join(out)


class PieceCodec:
    """SentencePiece pieces to ids and back (the ``sentencepiece`` package)."""

    def __init__(self, model_file: Path, spec: dict) -> None:
        import sentencepiece  # only for a SentencePiece run

        self.processor = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self.unk, self.end = spec["unk_id"], spec["end_id"]

    def encode(self, text: str) -> list[int]:
        return list(self.processor.encode(text)) if text else []

    def decode(self, ids) -> str:
        kept = []
        for i in ids:
            if int(i) == self.end:
                break
            kept.append(int(i) if 0 <= int(i) < self.processor.get_piece_size() else self.unk)
        return self.processor.decode(kept)


def _codec(side: dict, directory: Path, spec: dict):
    if "characters" in side:
        return CharacterCodec(side["characters"], spec)
    return PieceCodec(directory / side["model_file"], spec)


class LiteRTTranslator:
    """Translates strings with an exported ``model.tflite`` and its ``litert.json``."""

    def __init__(self, directory: str | Path, num_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        directory = Path(directory)
        self.spec = json.loads((directory / SPEC_FILE).read_text(encoding="utf-8"))
        self.source = _codec(self.spec["source"], directory, self.spec)
        self.target = _codec(self.spec["target"], directory, self.spec)
        self.interpreter = Interpreter(
            model_path=str(directory / MODEL_FILE), num_threads=num_threads
        )
        self.runner = self.interpreter.get_signature_runner("translate")

    def encode(self, text: str) -> list[int]:
        """The source ids of one input (normalised, cut to ``max_input_length``)."""
        text = normalize_input(text)
        limit = self.spec.get("max_input_length") or 0
        return self.source.encode(text[:limit] if limit else text)

    def candidates(self, texts: list[str], batch_size: int = 64) -> list[list[Candidate]]:
        """Up to ``n_best`` candidates per input (as exported), best first."""
        encoded = [self.encode(t) for t in texts]
        results = [[Candidate("", 0.0)] for _ in texts]
        order = sorted((i for i, ids in enumerate(encoded) if ids), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in rows)
            source = np.full((len(rows), width), self.spec["pad_id"], np.int32)
            for r, i in enumerate(rows):
                source[r, : len(encoded[i])] = encoded[i]
            out = self.runner(source=source)
            for r, i in enumerate(rows):
                results[i] = [
                    Candidate(self.target.decode(ids), float(score))
                    for ids, score in zip(out["ids"][r], out["scores"][r], strict=True)
                ]
        return results

    def translate(self, texts: list[str], batch_size: int = 64) -> list[str]:
        """The best translation of each input."""
        return [c[0].text for c in self.candidates(texts, batch_size)]


def main(argv: list[str] | None = None) -> int:
    """``python translate.py [export_dir] < inputs``: one translation per input line."""
    argv = sys.argv[1:] if argv is None else argv
    directory = Path(argv[0]) if argv else Path(__file__).resolve().parent
    lines = sys.stdin.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    try:
        translator = LiteRTTranslator(directory)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        print(f"error: cannot load the LiteRT export in {directory}: {exc}", file=sys.stderr)
        return 2
    for text in translator.translate(lines):
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
