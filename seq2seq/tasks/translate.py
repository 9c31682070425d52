"""``s2s-translate``: translations on stdout (one line per input, in input order) or in
``output_file``; logs on stderr. At a terminal with no inputs named, it translates each line
as it is typed."""

from __future__ import annotations

import io
import logging
import os
import sys
from dataclasses import dataclass

from omegaconf import DictConfig

from seq2seq.destinations import check_output_file
from seq2seq.errors import Seq2SeqError
from seq2seq.files import write_user_file
from seq2seq.settings import DecodingSettings, inference_decoding
from seq2seq.tasks.common import (
    batch_size,
    config_values,
    given_texts,
    open_translator,
    optional_path,
    run_dirs,
)
from seq2seq.text import read_text_lines, split_lines
from seq2seq.translation import Candidate, Translator

log = logging.getLogger(__name__)
USAGE = "s2s-translate run_dir=outputs/train/<run> inputs='[\"Nov 28, 2026\"]'"


@dataclass(frozen=True)
class TranslateSettings:
    """The ``translate`` config, parsed once.

    Attributes:
        run_dirs: the trained run, or the runs of an ensemble.
        inputs: the strings to translate (None: read ``input_file``, else stdin).
        input_file: a UTF-8 file of one input per line.
        output_file: where the translations go (None: stdout).
        batch_size: inputs per call of the compiled decode loop.
        decoding: the search rule and its parameters.
        prefixes: per input, the start its translation must have (None: none).
        prefix_file: a UTF-8 file of one prefix per input line (an empty line: none).
        lexicon: a ``source<TAB>target`` file answering the inputs it holds (None: none).
    """

    run_dirs: tuple[str, ...]
    inputs: tuple[str, ...] | None
    input_file: str | None
    output_file: str | None
    batch_size: int
    decoding: DecodingSettings
    prefixes: tuple[str, ...] | None = None
    prefix_file: str | None = None
    lexicon: str | None = None

    @classmethod
    def from_config(cls, cfg: DictConfig) -> TranslateSettings:
        """Parses and checks a composed ``translate`` config."""
        values = config_values(cfg)
        settings = cls(
            run_dirs=run_dirs(values, USAGE),
            inputs=given_texts("inputs", values.get("inputs")),
            input_file=optional_path(values, "input_file"),
            output_file=optional_path(values, "output_file"),
            batch_size=batch_size(values),
            decoding=inference_decoding(values.get("decoding"), values.get("seed")),
            prefixes=given_texts("prefixes", values.get("prefixes")),
            prefix_file=optional_path(values, "prefix_file"),
            lexicon=optional_path(values, "lexicon"),
        )
        if settings.inputs is not None and settings.input_file:
            raise Seq2SeqError("give either inputs=... or input_file=..., not both")
        if settings.prefixes is not None and settings.prefix_file:
            raise Seq2SeqError("give either prefixes=... or prefix_file=..., not both")
        return settings


def translate(cfg: DictConfig) -> list[str]:
    """Hydra task: translates the configured inputs with the run in ``cfg.run_dir``.

    Writes one translation per input line to ``cfg.output_file`` (atomically) or to stdout;
    with ``decoding.n_best > 1``, the lines of :func:`format_candidates` instead.

    Returns:
        The best translation of each input.
    """
    settings = TranslateSettings.from_config(cfg)
    inputs = [p for p in (settings.input_file, settings.prefix_file, settings.lexicon) if p]
    if settings.output_file:
        check_output_file(settings.output_file, "output_file", inputs=inputs)
    translator = open_translator(settings.run_dirs, settings.lexicon)
    if at_terminal(settings):
        return translate_interactively(translator, settings.decoding)
    texts = read_inputs(settings)
    decoding = settings.decoding
    runs = " + ".join(settings.run_dirs)
    log.info("translating %d input(s) with %s (%s)", len(texts), runs, decoding.name)
    candidates = translator.candidates(
        texts,
        batch_size=settings.batch_size,
        progress=len(texts) > settings.batch_size,
        prefixes=read_prefixes(settings, len(texts)),
        **decoding.options(),
    )
    if decoding.n_best > 1:
        text = format_candidates(candidates)
    else:
        text = "".join(cands[0].text + "\n" for cands in candidates)
    if settings.output_file:
        write_user_file(settings.output_file, text)
        log.info("wrote %d translation(s) to %s", len(candidates), settings.output_file)
    else:
        write_stdout(text)
    return [cands[0].text for cands in candidates]


def read_prefixes(settings: TranslateSettings, count: int) -> list[str] | None:
    """The forced prefixes: ``prefixes``, else the lines of ``prefix_file`` (None: none),
    one per input."""
    found = settings.prefixes
    if settings.prefix_file:
        found = read_text_lines(settings.prefix_file, "prefix")
    if found is not None and len(found) != count:
        where = settings.prefix_file or "prefixes"
        raise Seq2SeqError(f"{where} has {len(found)} prefix(es) for {count} input(s):"
                           " give one per input (an empty one for none)")  # fmt: skip
    return None if found is None else list(found)


def read_inputs(settings: TranslateSettings) -> list[str]:
    """The inputs: ``inputs``, else the lines of ``input_file``, else the lines of stdin."""
    if settings.inputs is not None:
        return list(settings.inputs)
    if settings.input_file:
        return read_text_lines(settings.input_file, "input")  # no newline translation
    stdin = getattr(sys.stdin, "buffer", None)  # bytes: no newline translation
    try:
        text = stdin.read().decode("utf-8") if stdin is not None else sys.stdin.read()
    except UnicodeDecodeError as exc:
        raise Seq2SeqError(f"standard input is not UTF-8 (byte {exc.start})") from None
    return split_lines(text)


def format_candidates(candidates: list[list[Candidate]], first_index: int = 0) -> str:
    """n-best output: one ``input_index<TAB>rank<TAB>score<TAB>translation`` line per candidate.

    ``input_index`` counts input lines from ``first_index`` (0), ``rank`` counts from 1 (best
    first) and ``score`` is the candidate's (length-normalised) log-probability with 4
    decimals.
    """
    return "".join(
        f"{i}\t{rank}\t{score:.4f}\t{text}\n"
        for i, cands in enumerate(candidates, first_index)
        for rank, (text, score) in enumerate(cands, 1)
    )


def at_terminal(settings: TranslateSettings) -> bool:
    """Whether inputs come from a person at a terminal (stdin is a TTY, and neither
    ``inputs``, ``input_file`` nor ``output_file`` is given)."""
    named = settings.inputs is not None or settings.input_file or settings.output_file
    return not named and sys.stdin is not None and sys.stdin.isatty()


def translate_interactively(translator: Translator, decoding: DecodingSettings) -> list[str]:
    """Translates each line as it is entered: a ``> `` prompt on stderr, the translation
    (or n-best lines) on stdout at once, until end of input (Ctrl-D).

    Returns:
        The best translation of each line.
    """
    log.info("type a sentence and press Enter to translate it; Ctrl-D ends")
    outputs: list[str] = []
    while True:
        sys.stderr.write("> ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            sys.stderr.write("\n")
            return outputs
        candidates = translator.candidates(split_lines(line) or [""], **decoding.options())
        if decoding.n_best > 1:
            write_stdout(format_candidates(candidates, first_index=len(outputs)))
        else:
            write_stdout(candidates[0][0].text + "\n")
        outputs.append(candidates[0][0].text)


def write_stdout(text: str) -> None:
    """Writes ``text`` to standard output at once, so that a reader that went away
    (``| head -1``) raises ``BrokenPipeError`` here: Python's buffered writer can drop the
    rest of a large write silently after a partial one."""
    stream = sys.stdout
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):  # e.g. captured by a test
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    view = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while view:
        view = view[os.write(fd, view) :]
