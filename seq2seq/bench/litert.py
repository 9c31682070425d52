"""``s2s-benchmark litert``: the SavedModel against LiteRT files (float32, int8, float16
weights) of one run, text in and text out, on the run's test split.

Each engine is exported by the real commands' code (``export_translator``,
``export_litert``) into a temporary directory, then timed from strings to strings:

* the SavedModel through its ``serving_default`` signature (vocabulary and search in the
  graph), in this process's TensorFlow;
* each LiteRT file through the reference client (:mod:`seq2seq.litert_client`: Python
  encoding and decoding around one ``translate`` call per batch; XNNPACK kernels).

Reported per engine: file size and weight bytes, batch-1 latency (median and 90th
percentile over ``batch1_sentences`` single-input calls after a warm-up), batch-64
throughput (best of ``repeats`` passes over ``num_sentences`` inputs, length-sorted into
batches), and chrF / exact match against the references with the share of outputs that
equal the SavedModel's.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seq2seq.bench.startup import cpu_model
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import run_test_pairs, score

#: ``quantize=`` per LiteRT engine (``none``: float32 weights).
ENGINES = ("none", "int8", "float16")


def _latencies(translate: Callable[[list[str]], list[str]], texts: list[str]) -> dict[str, float]:
    translate(texts[:1])  # warm-up
    times = []
    for text in texts:
        started = time.perf_counter()
        translate([text])
        times.append(1000 * (time.perf_counter() - started))
    return {"batch1_ms_median": float(np.median(times)),
            "batch1_ms_p90": float(np.percentile(times, 90))}  # fmt: skip


def _throughput(translate: Callable[[list[str]], list[str]], texts: list[str], repeats: int):
    """Sentences per second over ``texts`` in length-sorted batches of 64 (best pass), and
    the outputs in input order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    outputs: list[str] = [""] * len(texts)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, len(order), 64):
            rows = order[start : start + 64]
            for i, out in zip(rows, translate([texts[i] for i in rows]), strict=True):
                outputs[i] = out
        best = min(best, time.perf_counter() - started)
    return len(texts) / best, outputs


def _saved_model(directory: Path) -> Callable[[list[str]], list[str]]:
    import tensorflow as tf

    with contextlib.suppress(ImportError):  # a SentencePiece run's graph holds its tokenizer
        import tensorflow_text  # noqa: F401
    signature = tf.saved_model.load(str(directory)).signatures["serving_default"]

    def translate(texts: list[str]) -> list[str]:
        out = signature(tf.constant(texts))["translations"].numpy()
        return [t.decode("utf-8") for t in out]

    return translate


def _engine_report(translate, texts, refs, baseline, batch1, repeats) -> dict[str, Any]:
    report = _latencies(translate, batch1)
    speed, outputs = _throughput(translate, texts, repeats)
    quality = score(outputs, refs)
    same = baseline if baseline is not None else outputs
    report.update(batch64_sentences_per_s=speed, chrf=quality["chrf"],
                  exact_match=quality["exact_match"],
                  same_as_saved_model=sum(a == b for a, b in zip(outputs, same, strict=True))
                  / len(texts))  # fmt: skip
    return report | {"outputs": outputs}


def run_litert_benchmark(
    run_dir: str | Path,
    num_sentences: int = 512,
    batch1_sentences: int = 100,
    repeats: int = 3,
    engines: Sequence[str] = ENGINES,
    num_threads: int | None = None,
) -> dict[str, Any]:
    """Exports ``run_dir`` as a SavedModel and as a LiteRT file per ``engines`` value, and
    times and scores each (see the module docstring).

    Returns:
        A JSON-ready dict: ``cpu``, the settings, and one entry per engine.
    """
    from seq2seq.export import export_translator
    from seq2seq.litert import export_litert
    from seq2seq.litert_client import LiteRTTranslator
    from seq2seq.translation import Translator

    if min(num_sentences, batch1_sentences, repeats) < 1:
        raise Seq2SeqError("num_sentences, batch1_sentences and repeats must be >= 1")
    unknown = set(engines) - set(ENGINES)
    if unknown:
        raise Seq2SeqError(f"engines must be among {', '.join(ENGINES)} (got {sorted(unknown)})")
    pairs = run_test_pairs(run_dir)
    pairs = [pairs[i * len(pairs) // num_sentences] for i in range(min(num_sentences, len(pairs)))]
    texts, refs = [s for s, _ in pairs], [t for _, t in pairs]
    batch1 = texts[:batch1_sentences]
    threads = num_threads or os.cpu_count() or 1
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="s2s-bench-litert-") as tmp:
        saved = export_translator(Translator.from_run_dir(run_dir), Path(tmp) / "saved_model")
        found["saved_model"] = _engine_report(_saved_model(saved), texts, refs, None, batch1,
                                              repeats)  # fmt: skip
        baseline = found["saved_model"].pop("outputs")
        found["saved_model"]["file_bytes"] = sum(
            p.stat().st_size for p in saved.rglob("*") if p.is_file())  # fmt: skip
        for engine in engines:
            where = Path(tmp) / f"litert-{engine}"
            made = export_litert(run_dir, where, quantize=None if engine == "none" else engine)
            client = LiteRTTranslator(where, num_threads=threads)
            report = _engine_report(client.translate, texts, refs, baseline, batch1, repeats)
            report.pop("outputs")
            found[f"litert_{'float32' if engine == 'none' else engine}"] = report | {
                "file_bytes": made.model_bytes, "weight_bytes": made.weight_bytes}  # fmt: skip
    return {"cpu": cpu_model(), "run_dir": str(run_dir), "num_sentences": len(texts),
            "batch1_sentences": len(batch1), "litert_threads": threads,
            "date": time.strftime("%Y-%m-%d"), "engines": found}  # fmt: skip
