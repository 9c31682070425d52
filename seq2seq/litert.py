"""Export a trained run as a LiteRT (TFLite) model that holds the whole decode.

``s2s-export format=litert`` writes a directory an app can ship::

    exported/
      model.tflite   # encoder + the compiled step loop + the search, builtin ops only
      litert.json    # the vocabularies, the reserved ids, what the search was fixed to
      translate.py   # the reference client: ai_edge_litert + numpy (seq2seq.litert_client)
      *.model        # a SentencePiece run's tokenizer models (source, target or shared)
      report.json    # file sizes; quality of the file against the model on the test split

The file's ``translate`` signature maps ``source`` ``[batch, time]`` int32 ids (PAD on the
right) to ``ids`` ``[batch, n_best, steps]`` int32 (END, then PAD) and ``scores``
``[batch, n_best]`` float32. Strings stay outside: LiteRT's builtin ops have no string
lookup tables or SentencePiece, so text becomes ids in the app (``translate.py`` shows
how). The search (greedy, or beam with its size, length penalty and n-best) and the
decoding controls are fixed at export, as in the SavedModel; forced prefixes and a lexicon
are not inside. Only builtin ops are used (no Flex / SELECT_TF_OPS), so the plain LiteRT
runtime runs it.

``quantize=int8`` stores the weights as int8 (dynamic-range quantisation: activations
stay float); ``quantize=float16`` stores them as float16.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from seq2seq import litert_client
from seq2seq.checks import positive
from seq2seq.decoding import MAX_LENGTH
from seq2seq.decoding.controls import no_prefix
from seq2seq.destinations import prepare_output_dir
from seq2seq.errors import Seq2SeqError
from seq2seq.export import checked_export_dir, describe, export_decoding, tracked_archive
from seq2seq.extras import require
from seq2seq.files import atomic_write
from seq2seq.options.decoding import LoopControls
from seq2seq.settings import DecodingSettings
from seq2seq.translation import Candidate, Translator
from seq2seq.vocab import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID, UNK_ID, UNK_TEXT

log = logging.getLogger(__name__)

#: ``quantize=`` values: the weights' storage type (None: float32).
QUANTIZE = ("int8", "float16")
CLIENT_FILE = "translate.py"
REPORT_FILE = "report.json"
SIGNATURE = "translate"


@dataclass(frozen=True)
class LiteRTReport:
    """What ``s2s-export format=litert`` wrote and measured (``report.json``).

    Attributes:
        model_bytes: the size of ``model.tflite``.
        float_bytes: the size of the same model with float32 weights (equal to
            ``model_bytes`` without ``quantize``).
        weight_bytes: of ``model_bytes``, the constant buffers (weights and constants).
        float_weight_bytes: the same for the float32 model.
        quantize: ``int8``, ``float16`` or None.
        decoding: the search fixed in the file.
        examples: test-split inputs translated for ``quality`` (0: not measured).
        quality: ``{"litert": {...}, "model": {...}, "agreement": x}``: chrF and exact
            match of the file and of the run's model (the SavedModel's outputs) against the
            references, and the share of inputs where both give the same translation.
    """

    model_bytes: int
    float_bytes: int
    weight_bytes: int
    float_weight_bytes: int
    quantize: str | None
    decoding: str
    examples: int = 0
    quality: dict[str, Any] = field(default_factory=dict)


class LiteRTModule(tf.Module):
    """The decode as one function of ids: ``translate(source) -> {ids, scores}``."""

    def __init__(self, translator: Translator, max_length: int, decoding: DecodingSettings):
        super().__init__(name="seq2seq_litert")
        self._search = decoding.rule(translator.model)
        self._controls, self._record = decoding.controls(), decoding.params
        self.n_best = int(decoding.n_best)
        self.max_length = int(max_length)

    def translate(self, source: tf.Tensor) -> dict[str, tf.Tensor]:
        values = self._search.loop_values(self._controls, self._record, no_prefix(source))
        ids, scores, _ = self._search.decode_graph(
            source, tf.constant(self.max_length), tf.constant(self.n_best), *values
        )
        return {"ids": ids, "scores": scores}


def litert_bytes(
    translator: Translator, max_length: int, decoding: DecodingSettings, quantize: str | None
) -> bytes:
    """The ``.tflite`` file of ``translator`` with ``decoding`` fixed inside.

    Raises:
        Seq2SeqError: the model needs ops outside LiteRT's builtins (naming them).
    """
    module = LiteRTModule(translator, max_length, decoding)
    signature = [tf.TensorSpec([None, None], tf.int32, name="source")]
    archive = tracked_archive(translator, module, SIGNATURE, module.translate, signature)
    with tempfile.TemporaryDirectory(prefix="s2s-litert-") as tmp:
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        try:
            return converter.convert()
        except Exception as exc:  # the converter raises several kinds, all with a report
            raise Seq2SeqError(conversion_error(exc)) from None


def weight_bytes(model: bytes) -> int:
    """The bytes of a ``.tflite`` file's constant buffers (its weights, quantised or not)."""
    from tensorflow.lite.python import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    buffers = (root.Buffers(i) for i in range(root.BuffersLength()))
    return sum(b.DataLength() or int(b.Size()) for b in buffers)


def conversion_error(exc: Exception) -> str:
    """One line from a converter failure: the TensorFlow ops LiteRT has no builtin for."""
    if "TensorListReserve" in str(exc):
        return ("the model cannot be converted to LiteRT: its recurrent layers run in Keras's"
                " RNN loop, whose TensorList ops LiteRT's builtins cannot hold for a batch of"
                " any size. The default model (model=lstm with its defaults: the Keras"
                " example's) and model=transformer convert")  # fmt: skip
    ops = sorted(set(re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", str(exc))))
    if ops:
        return (f"the model cannot be converted to LiteRT: it needs {', '.join(ops)}, which"
                " LiteRT has no builtin op for (the SavedModel export has them)")  # fmt: skip
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return f"the model cannot be converted to LiteRT: {first.strip()[:300]}"


def litert_spec(
    translator: Translator, max_length: int, decoding: DecodingSettings, quantize: str | None
) -> dict[str, Any]:
    """``litert.json``: what the reference client (and an app) needs beside the model."""

    def side(vocab: Any) -> dict[str, Any]:
        if hasattr(vocab, "characters"):
            return {"characters": list(vocab.characters)}
        return {"model_file": vocab.file_name, "size": len(vocab)}

    return {
        "format_version": 1,
        "signature": SIGNATURE,
        "source": side(translator.source_vocab),
        "target": side(translator.target_vocab),
        "special_tokens": list(SPECIAL_TOKENS),
        **{"pad_id": PAD_ID, "start_id": START_ID, "end_id": END_ID, "unk_id": UNK_ID},
        "unk_text": UNK_TEXT,
        "max_input_length": int(translator.max_input_length or 0),
        "max_length": int(max_length),
        "decoding": describe(decoding),
        "n_best": int(decoding.n_best),
        "quantize": quantize,
        # what s2s-serve litert_dir= checks: the same weights, and which requests it answers
        "weights_sha256": weights_fingerprint(translator),
        "search": {
            "name": decoding.name,
            "params": asdict(decoding.params),
            "controls": asdict(decoding.controls()),
        },
    }


def write_litert_files(
    directory: Path, translator: Translator, model: bytes, max_length: int,
    decoding: DecodingSettings, quantize: str | None,
) -> None:  # fmt: skip
    """Writes ``model.tflite``, ``litert.json``, ``translate.py`` and a SentencePiece run's
    tokenizer models into ``directory`` (created)."""
    directory.mkdir(parents=True)
    (directory / litert_client.MODEL_FILE).write_bytes(model)
    spec = litert_spec(translator, max_length, decoding, quantize)
    text = json.dumps(spec, indent=1, ensure_ascii=False) + "\n"
    (directory / litert_client.SPEC_FILE).write_text(text, encoding="utf-8")
    shutil.copyfile(litert_client.__file__, directory / CLIENT_FILE)
    translator.source_vocab.save_files(directory)  # a SentencePiece run's model files;
    translator.target_vocab.save_files(directory)  # characters write none


def check_litert_options(quantize: Any, lexicon: Any) -> str | None:
    """The checked ``quantize`` (None: float32 weights).

    Raises:
        Seq2SeqError: an unknown ``quantize``, or a lexicon (not inside a LiteRT file).
    """
    if quantize not in (None, "none", *QUANTIZE):
        kinds = ", ".join(QUANTIZE)
        raise Seq2SeqError(f"quantize must be one of none, {kinds} (got {quantize!r})")
    if lexicon:
        raise Seq2SeqError("lexicon= is not supported with format=litert: LiteRT has no string"
                           " tables; answer known inputs in the app before the model")  # fmt: skip
    return None if quantize in (None, "none") else str(quantize)


def export_litert(
    run_dir: str | Path | Sequence[str | Path],
    export_dir: str | Path,
    max_length: int | None = None,
    decoding: DecodingSettings | None = None,
    quantize: str | None = None,
    compare_examples: int = 0,
) -> LiteRTReport:
    """Writes the LiteRT export of ``run_dir`` (or an ensemble's run directories) to
    ``export_dir`` (which must not exist yet, or be empty): see the module docstring.

    Args:
        compare_examples: translate this many inputs of the run's test split with the file
            and with the model, for ``report.json`` (0: no comparison).

    Raises:
        Seq2SeqError: an unusable run, an existing export directory, a rule or model that
            LiteRT cannot hold.
    """
    export_dir = checked_export_dir(export_dir)
    decoding = export_decoding(decoding)
    quantize = check_litert_options(quantize, None)
    prepare_output_dir(export_dir.parent, "export_dir's parent")  # writable, before the work
    if compare_examples > 0:  # before the work: the comparison runs the file
        require("ai_edge_litert", "compare_examples > 0 (or set compare_examples=0)")
    runs = [run_dir] if isinstance(run_dir, (str, Path)) else list(run_dir)
    translator = Translator.from_run_dirs(runs)
    max_length = positive("max_length", max_length or decoding.max_length
                          or translator.max_output_length, at_most=MAX_LENGTH)  # fmt: skip
    model = litert_bytes(translator, max_length, decoding, quantize)
    plain = model if quantize is None else litert_bytes(translator, max_length, decoding, None)
    report = LiteRTReport(len(model), len(plain), weight_bytes(model), weight_bytes(plain),
                          quantize, describe(decoding))  # fmt: skip

    def write(tmp: Path) -> None:
        nonlocal report
        write_litert_files(tmp, translator, model, max_length, decoding, quantize)
        found = _compared(tmp, translator, runs[0], decoding, max_length, compare_examples)
        report = LiteRTReport(**{**asdict(report), **found})
        (tmp / REPORT_FILE).write_text(json.dumps(asdict(report), indent=1) + "\n")

    atomic_write(export_dir, write)
    log.info("exported %s to %s: model.tflite %s, of which %s weights (%s; float32: %s), %s",
             " + ".join(map(str, runs)), export_dir, _size(report.model_bytes),
             _size(report.weight_bytes), quantize or "float32",
             _size(report.float_weight_bytes), report.decoding)  # fmt: skip
    return report


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _compared(
    directory: Path, translator: Translator, run_dir: Any, decoding: DecodingSettings,
    max_length: int, examples: int,
) -> dict[str, Any]:  # fmt: skip
    """``examples`` and ``quality`` of :class:`LiteRTReport` ({} when not measured)."""
    if examples <= 0:
        return {}
    from seq2seq.evaluation import run_test_pairs, score

    try:
        pairs = run_test_pairs(run_dir)[:examples]
    except Seq2SeqError as exc:
        log.warning("no quality comparison in %s: %s", REPORT_FILE, exc)
        return {}
    if not pairs:
        return {}
    sources, references = [p[0] for p in pairs], [p[1] for p in pairs]
    file_out = litert_client.LiteRTTranslator(directory).translate(sources)
    model_out = translator.translate(sources, **{**decoding.options(), "max_length": max_length})
    same = sum(a == b for a, b in zip(file_out, model_out, strict=True)) / len(pairs)
    keep = ("chrf", "exact_match")
    quality = {
        "litert": {k: v for k, v in score(file_out, references).items() if k in keep},
        "model": {k: v for k, v in score(model_out, references).items() if k in keep},
        "agreement": same,
    }
    log.info("on %d test inputs: chrF %.1f (the model: %.1f), %.1f%% identical translations",
             len(pairs), quality["litert"]["chrf"], quality["model"]["chrf"],
             100 * same)  # fmt: skip
    return {"examples": len(pairs), "quality": quality}


def weights_fingerprint(translator: Translator) -> str:
    """SHA-256 of the values of every weight of ``translator``'s model (every member of an
    ensemble), in order: the same weights, wherever they were loaded from."""
    digest = hashlib.sha256()
    models = getattr(translator.model, "keras_models", [translator.model.training])
    for model in models:
        for weight in model.weights:
            digest.update(np.asarray(weight.numpy()).tobytes())
    return digest.hexdigest()


class LiteRTEngine:
    """A LiteRT export of a :class:`Translator`'s own model that answers the requests its
    fixed search answers (``Translator.engine``; ``s2s-serve litert_dir=``): at batch 1 the
    LiteRT file decodes several times faster than TensorFlow here (docs/export.md)."""

    def __init__(self, directory: str | Path, translator: Translator) -> None:
        """Loads the export in ``directory`` for ``translator``.

        Raises:
            Seq2SeqError: not a LiteRT export, or one of another model.
        """
        directory = Path(directory)
        require("ai_edge_litert", "litert_dir=")
        try:
            spec = json.loads((directory / litert_client.SPEC_FILE).read_text(encoding="utf-8"))
            search = spec["search"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise Seq2SeqError(f"{directory} is not a LiteRT export of s2s-export format=litert"
                               f" ({type(exc).__name__}: {exc})") from None  # fmt: skip
        if spec.get("weights_sha256") != weights_fingerprint(translator):
            raise Seq2SeqError(f"{directory} was exported from another model than the run's"
                               " (its weights differ): export this run again")  # fmt: skip
        self.client = litert_client.LiteRTTranslator(directory)
        rule = DecodingSettings(name=search["name"]).rule
        self.key = (search["name"], int(spec["n_best"]), rule.params(**search["params"]),
                    LoopControls(**search["controls"]), int(spec["max_length"]))  # fmt: skip
        self.inputs = 0  # inputs it has decoded

    def serves(self, decoding: str, n_best: int, params: Any, controls: Any, max_length: int,
               prefixes: Any) -> bool:  # fmt: skip
        """Whether these settings are the file's (and no input has a forced prefix)."""
        wanted = (decoding, n_best, params, controls or LoopControls(), max_length)
        return wanted == self.key and not (prefixes and any(prefixes))

    def candidates(self, texts: Sequence[str], batch_size: int) -> list[list[Candidate]]:
        """The file's candidates of ``texts`` (as ``Translator.model_candidates`` returns)."""
        found = self.client.candidates(list(texts), batch_size=batch_size)
        self.inputs += len(texts)
        return [[Candidate(c.text, c.score) for c in cands] for cands in found]
