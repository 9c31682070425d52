"""Text as the commands read it: lines as ``wc -l`` counts them, inputs normalised, and the
default longest input and output of a run."""

from __future__ import annotations

from pathlib import Path

from seq2seq.errors import Seq2SeqError
from seq2seq.options.decoding import MAX_LENGTH


def normalize_input(text: str) -> str:
    """Strips the ends of ``text`` and collapses inner runs of whitespace to one space."""
    return " ".join(text.split())


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, as ``wc -l`` counts them: a line ends at ``\n`` (or ``\r\n``);
    a last line without one still counts. Unlike ``str.splitlines``, form feeds, lone
    ``\r``, U+2028 and the like stay inside their line (and read as spaces)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def default_max_output_length(longest_target: int) -> int:
    """Default cap on output characters: twice the longest training target (at least +10),
    at most :data:`~seq2seq.options.decoding.MAX_LENGTH`."""
    return min(max(2 * longest_target, longest_target + 10), MAX_LENGTH)


def default_max_input_length(longest_source: int) -> int:
    """Inputs beyond this are cut: four times the longest training source (at least 64)."""
    return max(4 * longest_source, 64)


def read_text_lines(path: str, key: str) -> list[str]:
    """The lines of a UTF-8 text file (``\n`` or ``\r\n`` ends), one-line errors."""
    try:
        return split_lines(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise Seq2SeqError(f"{key} file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise Seq2SeqError(f"{key} file {path} is not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise Seq2SeqError(f"cannot read {key} file {path}: {exc.strerror}") from None
