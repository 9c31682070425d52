"""Export a trained run as a TensorFlow SavedModel: strings in, strings out.

The vocabularies (as lookup tables) and the compiled decode loop (greedy, or beam search with
its beam size, length penalty and n-best fixed at export) live in the graph, so the SavedModel
runs with ``tf.saved_model.load``, ``saved_model_cli run`` or TensorFlow Serving in a process
that never imports ``seq2seq``::

    model = tf.saved_model.load("exported")
    out = model.signatures["serving_default"](tf.constant(["Nov 28, 2026"]))
    out["translations"]  # tf.string [batch]; out["scores"]: float32 [batch]
    # exported with n_best > 1, also out["nbest_translations"] / out["nbest_scores"]: [batch, n]

Inputs are normalised like :func:`seq2seq.translation.normalize_input` (ends stripped, inner
whitespace runs collapsed to one space); characters outside the source vocabulary read as
UNK; an empty input gives an empty translation. A SentencePiece run's models are inside the
graph (TensorFlow Text's ``SentencepieceTokenizer``): its loader must ``import
tensorflow_text`` first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from seq2seq.checks import positive
from seq2seq.decoding import MAX_LENGTH, SEARCH_RULES
from seq2seq.decoding.controls import no_prefix
from seq2seq.destinations import prepare_output_dir, refuse_run_owned_dir
from seq2seq.errors import Seq2SeqError
from seq2seq.files import atomic_write
from seq2seq.settings import DecodingSettings
from seq2seq.translation import Translator
from seq2seq.vocab import PAD_ID

log = logging.getLogger(__name__)


def exported_rules() -> list[str]:
    """The search rules a SavedModel can hold (each rule says: ``SearchRule.exportable``)."""
    return [name for name in SEARCH_RULES.names() if SEARCH_RULES.get(name).exportable]


def export_decoding(decoding: DecodingSettings | None) -> DecodingSettings:
    """The checked decoding of an export (greedy by default).

    Raises:
        Seq2SeqError: a rule that is not exported, or XLA asked for.
    """
    decoding = decoding or DecodingSettings()
    if decoding.name not in exported_rules():
        raise Seq2SeqError(
            f"decoding={decoding.name} cannot be exported: the SavedModel holds"
            f" {' or '.join(exported_rules())} search"
        )
    if decoding.jit_compile:
        raise Seq2SeqError("decoding.jit_compile=true does not apply to s2s-export")
    return decoding


class TranslationModule(tf.Module):
    """A ``tf.Module`` whose ``translate`` maps a ``[batch]`` string tensor to translations."""

    def __init__(
        self,
        translator: Translator,
        max_length: int | None = None,
        decoding: DecodingSettings | None = None,
    ) -> None:
        super().__init__(name="seq2seq_translator")
        decoding = export_decoding(decoding)
        self._search = decoding.rule(translator.model)
        self.n_best = int(decoding.n_best)
        self._controls, self._record = decoding.controls(), decoding.params
        max_length = max_length or decoding.max_length or translator.max_output_length
        positive("max_length", max_length, at_most=MAX_LENGTH)
        self.max_length = tf.constant(int(max_length), tf.int32)
        self._lexicon = lexicon_table(translator.lexicon)
        # Longer inputs are cut to this many characters, as Translator cuts them.
        self.max_input_length = int(translator.max_input_length or 0)
        self.source_vocab = translator.source_vocab.graph()
        self.target_vocab = translator.target_vocab.graph()
        self.translate = tf.function(
            self._translate, input_signature=[tf.TensorSpec([None], tf.string, name="inputs")]
        )

    def _translate(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        # Signatures do not check shapes at run time: a [2, 2] batch would be flattened.
        inputs = tf.ensure_shape(inputs, [None])  # one sentence per element, or an error
        text = tf.strings.strip(tf.strings.regex_replace(inputs, r"\s+", " "))
        # Invalid UTF-8 reads as U+FFFD (which the vocabularies read as UNK).
        text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
        whole = text  # the lexicon's key: the whole normalised input
        if self.max_input_length:  # characters, as Translator cuts them
            text = tf.strings.substr(text, 0, self.max_input_length, unit="UTF8_CHAR")
        ids = self.source_vocab.encode(text)
        source = ids.to_tensor(default_value=PAD_ID)
        # An all-empty batch still needs one (masked) time step.
        source = tf.pad(source, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(source)[1])]])
        values = self._search.loop_values(self._controls, self._record, no_prefix(source))
        out_ids, scores, _ = self._search.decode_graph(
            source, self.max_length, tf.constant(self.n_best), *values
        )  # [batch, n, steps], [batch, n]
        translations = self.target_vocab.decode(out_ids)  # the tokens before the first END
        first = tf.range(tf.shape(scores)[1])[None, :] == 0
        known = tf.zeros_like(inputs)[:, None] if self._lexicon is None else (
            self._lexicon.lookup(whole)[:, None])  # fmt: skip
        hit = tf.not_equal(known, "")  # the lexicon's answer: one candidate, score 0
        empty = tf.equal(ids.row_lengths(), 0)[:, None]  # an empty input: "", score 0
        translations = tf.where(hit, tf.where(first, known, ""), translations)
        translations = tf.where(empty, "", translations)
        scores = tf.where(tf.logical_or(empty, hit), 0.0, scores)
        outputs = {"translations": translations[:, 0], "scores": scores[:, 0]}
        if self.n_best > 1:  # an empty or known input has one candidate, like Translator's
            keep = tf.logical_or(tf.logical_not(tf.logical_or(empty, hit)), first)
            outputs["nbest_translations"] = tf.where(keep, translations, "")
            outputs["nbest_scores"] = tf.where(keep, scores, 0.0)
        return outputs


def lexicon_table(lexicon: dict[str, tuple[str, ...]]) -> tf.lookup.StaticHashTable | None:
    """The lexicon's best entries as a lookup table in the graph (None: no lexicon)."""
    if not lexicon:
        return None
    keys, values = zip(*((k, v[0]) for k, v in lexicon.items()), strict=True)
    initializer = tf.lookup.KeyValueTensorInitializer(list(keys), list(values))
    return tf.lookup.StaticHashTable(initializer, default_value="")


def export_run(
    run_dir: str | Path | Sequence[str | Path],
    export_dir: str | Path,
    max_length: int | None = None,
    decoding: DecodingSettings | None = None,
    lexicon: dict[str, tuple[str, ...]] | None = None,
) -> Path:
    """Writes the SavedModel of ``run_dir`` (or of an ensemble of run directories) to
    ``export_dir`` (which must not exist yet), decoding with ``decoding`` (greedy by
    default; beam search with its settings fixed).

    Returns:
        The export directory.

    Raises:
        Seq2SeqError: the run directory is unusable or the export directory exists.
    """
    export_dir = checked_export_dir(export_dir)
    decoding = export_decoding(decoding)
    runs = [run_dir] if isinstance(run_dir, (str, Path)) else list(run_dir)
    translator = Translator.from_run_dirs(runs)
    translator.lexicon = lexicon or {}
    prepare_output_dir(export_dir.parent, "export_dir's parent")
    export_translator(translator, export_dir, max_length, decoding)
    log.info("exported %s to %s (%s)", " + ".join(map(str, runs)), export_dir, describe(decoding))
    return export_dir


def checked_export_dir(export_dir: str | Path) -> Path:
    """``export_dir``, which must not exist yet or be an empty directory outside any run.

    Raises:
        Seq2SeqError: it is a file, a non-empty directory, or inside a run directory.
    """
    export_dir = refuse_run_owned_dir(export_dir, "export_dir")
    if export_dir.exists() and not export_dir.is_dir():
        raise Seq2SeqError(f"export_dir {export_dir} exists and is not a directory")
    if export_dir.exists() and any(export_dir.iterdir()):
        raise Seq2SeqError(f"export directory already exists and is not empty: {export_dir}")
    return export_dir


def describe(decoding: DecodingSettings) -> str:
    """``beam search (beam_size=5, length_penalty=0.6, n_best=1)``, for the log."""
    values = [f"{k}={v}" for k, v in vars(decoding.params).items()]
    return f"{decoding.name} search ({', '.join([*values, f'n_best={decoding.n_best}'])})"


def export_translator(
    translator: Translator,
    export_dir: str | Path,
    max_length: int | None = None,
    decoding: DecodingSettings | None = None,
) -> Path:
    """Writes ``translator``'s SavedModel to ``export_dir`` (atomically); returns it."""
    module = TranslationModule(translator, max_length=max_length, decoding=decoding)
    signature = [tf.TensorSpec([None], tf.string, name="inputs")]
    archive = tracked_archive(translator, module, "serve", module._translate, signature)
    atomic_write(export_dir, lambda tmp: archive.write_out(str(tmp), verbose=False))
    return Path(export_dir)


def tracked_archive(
    translator: Translator, module: tf.Module, endpoint: str, fn: Any, signature: list
) -> keras.export.ExportArchive:
    """A Keras ``ExportArchive`` of ``module`` with the endpoint ``fn`` (``signature``).

    Keras's ExportArchive tracks the Keras variables so that every loader finds them,
    including the TF1-style ones behind saved_model_cli and TensorFlow Serving (and the
    LiteRT converter, which freezes them).
    """
    archive = keras.export.ExportArchive()
    for keras_model in getattr(translator.model, "keras_models", [translator.model.training]):
        archive.track(keras_model)  # every member of an ensemble
    archive.track(module)
    archive.add_endpoint(endpoint, fn, input_signature=signature)
    return archive
