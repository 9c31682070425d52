"""A run directory's ``vocab.json``: both vocabularies, the files they name (in
``tokenizer/`` beside it: SentencePiece models) and metadata such as the longest training
lengths. The run directory (:mod:`seq2seq.rundir`) owns the names; this module owns what the
file holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seq2seq.errors import Seq2SeqError
from seq2seq.files import atomic_write_text, read_run_bytes
from seq2seq.rundir import TOKENIZER_DIR, RunDir
from seq2seq.vocab import TokenVocabulary, vocabularies_from_payload, vocabularies_payload

#: ``(source, target, metadata)``.
RunVocabularies = tuple[TokenVocabulary, TokenVocabulary, dict[str, Any]]


def write_run_vocab(
    run: RunDir,
    source: TokenVocabulary,
    target: TokenVocabulary,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Writes both vocabularies (their files first) and ``metadata`` into ``run``."""
    for vocab in (source, target):
        vocab.save_files(run.path / TOKENIZER_DIR)
    payload = vocabularies_payload(source, target, metadata)
    atomic_write_text(run.vocab_file, json.dumps(payload, ensure_ascii=False, indent=1))


def read_run_vocab(run: RunDir) -> RunVocabularies:
    """``(source, target, metadata)`` from ``run``'s ``vocab.json``."""
    return read_vocabularies(run.vocab_file)


def read_vocabularies(path: str | Path) -> RunVocabularies:
    """``(source, target, metadata)`` from a ``vocab.json`` file (and the files it names,
    in ``tokenizer/`` beside it).

    Raises:
        Seq2SeqError: the file is missing or malformed.
    """
    path = Path(path)
    try:
        payload = json.loads(read_run_bytes(path, "vocabulary").decode("utf-8"))
        return vocabularies_from_payload(payload, path.parent / TOKENIZER_DIR)
    except FileNotFoundError:
        raise Seq2SeqError(f"vocabulary file not found: {path}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Seq2SeqError(f"malformed vocabulary file {path}: {exc}") from None
