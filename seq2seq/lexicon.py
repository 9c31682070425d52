"""A lexicon first, the model for the rest: a ``source<TAB>target`` file whose entries answer
the inputs they hold (exact match after the inputs' own normalisation), as a G2P system
answers known words from its dictionary and only spells out the others (Phonetisaurus,
DeepPhonemizer). Several lines for one source are its candidates, best first."""

from __future__ import annotations

from pathlib import Path

from seq2seq.errors import Seq2SeqError
from seq2seq.text import normalize_input, read_text_lines

#: A lexicon: normalised source -> its targets, best first.
Lexicon = dict[str, tuple[str, ...]]


def read_lexicon(path: str | Path) -> Lexicon:
    """The entries of a UTF-8 ``source<TAB>target`` file (``\\n`` or ``\\r\\n`` line ends;
    blank lines skipped); sources are normalised as inputs are.

    Raises:
        Seq2SeqError: a missing or unreadable file, bytes that are not UTF-8, or a line that
            is not one source, a tab and one target (naming its line).
    """
    found: dict[str, list[str]] = {}
    for number, line in enumerate(read_text_lines(str(path), "lexicon"), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        source, target = (normalize_input(f) for f in fields[:2]) if len(fields) == 2 else ("", "")
        if not source or not target:
            raise Seq2SeqError(
                f"{path}:{number}: expected source<TAB>target (one tab, both non-empty),"
                f" got {line[:60]!r}"
            )
        targets = found.setdefault(source, [])
        if target not in targets:
            targets.append(target)
    if not found:
        raise Seq2SeqError(f"lexicon file {path} holds no entries")
    return {source: tuple(targets) for source, targets in found.items()}
