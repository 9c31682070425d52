"""``s2s-export``: a trained run as a TensorFlow SavedModel (strings in, strings out), or as
a LiteRT file (``format=litert``: ids in and out, with its reference client)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from seq2seq.checks import positive
from seq2seq.decoding import MAX_LENGTH
from seq2seq.errors import Seq2SeqError
from seq2seq.export import export_decoding, export_run
from seq2seq.lexicon import read_lexicon
from seq2seq.settings import DecodingSettings, inference_decoding
from seq2seq.tasks.common import config_values, optional_path, required_path, run_dirs

USAGE = "s2s-export run_dir=<run> export_dir=<dir>"
#: ``format=``: what the export writes.
FORMATS = ("savedmodel", "litert")


@dataclass(frozen=True)
class ExportSettings:
    """The ``export`` config, parsed once.

    Attributes:
        run_dirs: the trained run, or the runs of an ensemble.
        export_dir: where the SavedModel goes (must not exist yet, or be empty).
        max_length: most output characters per input baked into the export (None: the
            run's default); also ``decoding.max_length``.
        decoding: the search baked into the export (greedy, or beam with its settings).
        lexicon: a ``source<TAB>target`` file whose entries the export answers first (a
            lookup table in the graph; None: none).
        format: ``savedmodel`` or ``litert``.
        quantize: ``format=litert``: the weights' type, ``int8`` or ``float16`` (None:
            float32).
        compare_examples: ``format=litert``: test-split inputs for ``report.json``.
    """

    run_dirs: tuple[str, ...]
    export_dir: str
    max_length: int | None
    decoding: DecodingSettings
    lexicon: str | None = None
    format: str = "savedmodel"
    quantize: str | None = None
    compare_examples: int = 0

    @classmethod
    def from_config(cls, cfg: DictConfig) -> ExportSettings:
        """Parses and checks a composed ``export`` config."""
        values = config_values(cfg)
        decoding = export_decoding(inference_decoding(values.get("decoding"), None))
        max_length = values.get("max_length")
        if max_length is not None:
            max_length = positive("max_length", max_length, at_most=MAX_LENGTH)
            if decoding.max_length not in (None, max_length):
                raise Seq2SeqError(
                    f"max_length={max_length} and decoding.max_length={decoding.max_length}"
                    " disagree: give one of them"
                )
        fmt, quantize, compare = _format_values(values)
        return cls(
            format=fmt,
            quantize=quantize,
            compare_examples=compare,
            run_dirs=run_dirs(values, USAGE),
            export_dir=required_path(values, "export_dir", USAGE),
            max_length=max_length if max_length is not None else decoding.max_length,
            decoding=decoding,
            lexicon=optional_path(values, "lexicon"),
        )


def _format_values(values: dict[str, Any]) -> tuple[str, str | None, int]:
    """``format``, ``quantize`` and ``compare_examples``, checked together."""
    fmt = values.get("format") or "savedmodel"
    if fmt not in FORMATS:
        raise Seq2SeqError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    quantize = values.get("quantize")
    compare = values.get("compare_examples") or 0
    if isinstance(compare, bool) or not isinstance(compare, int) or compare < 0:
        raise Seq2SeqError(f"compare_examples must be an integer >= 0 (got {compare!r})")
    if fmt == "savedmodel":
        if quantize not in (None, "none"):
            raise Seq2SeqError("quantize= applies to format=litert only")
        return fmt, None, 0
    from seq2seq.litert import check_litert_options

    return fmt, check_litert_options(quantize, values.get("lexicon")), compare


def export(cfg: DictConfig) -> Path:
    """Hydra task: ``run_dir`` -> SavedModel (or LiteRT directory) in ``export_dir``."""
    settings = ExportSettings.from_config(cfg)
    if settings.format == "litert":
        from seq2seq.litert import export_litert

        export_litert(settings.run_dirs, settings.export_dir, max_length=settings.max_length,
                      decoding=settings.decoding, quantize=settings.quantize,
                      compare_examples=settings.compare_examples)  # fmt: skip
        return Path(settings.export_dir)
    return export_run(
        settings.run_dirs,
        settings.export_dir,
        max_length=settings.max_length,
        decoding=settings.decoding,
        lexicon=read_lexicon(settings.lexicon) if settings.lexicon else None,
    )
