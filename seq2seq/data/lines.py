"""Reading the lines of a text file the user gave, a leaf (no other part of the project but
its error type): UTF-8 bytes line by line (UTF-16 and UTF-32 files that start with a
byte-order mark decoded as such), each line checked for what makes it unusable as text, and
one warning that counts the bad lines. Every data source reads its files through these.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator
from pathlib import Path

from seq2seq.errors import Seq2SeqError

log = logging.getLogger(__name__)

MAX_REPORTED = 5
# Byte-order marks of the encodings decoded besides UTF-8 (UTF-32 first: its LE mark starts
# with UTF-16's).
BOMS = {
    codecs.BOM_UTF32_LE: "utf-32",
    codecs.BOM_UTF32_BE: "utf-32",
    codecs.BOM_UTF16_LE: "utf-16",
    codecs.BOM_UTF16_BE: "utf-16",
}


def decode_line(raw: bytes) -> tuple[str | None, str]:
    """One raw line as text (line end and a byte-order mark removed), or None and the
    reason it is bad: not UTF-8, blank, a carriage return or NUL bytes inside."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not valid UTF-8"
    line = line.rstrip("\r\n").lstrip("\ufeff")
    if not line.strip():
        return None, "blank line"
    if "\r" in line:
        return None, "carriage return inside the line (a file with CR-only line ends?)"
    if "\0" in line:
        return None, "NUL bytes (a UTF-16 file without a byte-order mark, or not text?)"
    return line, ""


def report_bad_lines(path: str | Path, bad: list[str]) -> None:
    """One warning that counts the skipped bad lines and names the first few."""
    if bad:
        shown = "; ".join(bad[:MAX_REPORTED]) + ("; ..." if len(bad) > MAX_REPORTED else "")
        log.warning("skipped %d bad line(s) in %s: %s", len(bad), path, shown)


def raw_lines(path: Path) -> Iterator[bytes]:
    """The file's lines as UTF-8 bytes (each ending at ``\\n``), decoding UTF-16/32 files
    that announce themselves with a byte-order mark."""
    with path.open("rb") as f:
        head = f.read(4)
        encoding = next((enc for bom, enc in BOMS.items() if head.startswith(bom)), None)
        f.seek(0)
        if encoding is None:
            yield from f
            return
        try:
            text = f.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise Seq2SeqError(
                f"data file {path} starts with a {encoding.upper()} byte-order mark but is"
                f" not {encoding.upper()} (byte {exc.start})"
            ) from None
    log.info("reading %s as %s (byte-order mark)", path, encoding.upper())
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for line in lines:
        yield (line + "\n").encode("utf-8", "surrogateescape")
