"""Decoding speed on a trained run: the textbook loop against ours, on the same weights and inputs.

* (A) the Keras ``lstm_seq2seq`` example's decoder: one sentence at a time, one
  ``model.predict`` call per character (plus one for the encoder);
* (B) the same loop with ``predict_on_batch`` (no per-call ``predict`` set-up);
* (C) ours: :meth:`Translator.translate` (the real code path: encode, batch, one compiled
  ``tf.while_loop`` per batch, decode strings) at several batch sizes, with the loop compiled
  by XLA (``sentences_per_s``, the figures the speedups use) and without
  (``sentences_per_s_no_xla``).

All three translate the same sentences: ``textbook_sentences`` inputs picked evenly from the
run's own test-split sources (regenerated from its ``config.yaml``) or from the lines of
``inputs_file``. A and B decode each once (they are slow); C decodes them repeated in turn up
to ``num_sentences``, so every batch size sees the same mix of sentence lengths as A and B
and the ratios compare equal work. Run with
``s2s-benchmark decode run_dir=<run>``.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from seq2seq.decoding.reference import greedy_loop
from seq2seq.errors import Seq2SeqError
from seq2seq.evaluation import run_test_pairs
from seq2seq.tasks.common import open_translator
from seq2seq.text import normalize_input, split_lines
from seq2seq.translation import Translator
from seq2seq.vocab import START_ID

log = logging.getLogger(__name__)


def benchmark_inputs(run_dir: Path, num: int, inputs_file: str | None = None) -> list[str]:
    """``num`` source sentences picked evenly from ``inputs_file``, else from the run's
    regenerated test split (repeated in turn when there are fewer than ``num``)."""
    if inputs_file:
        path = Path(inputs_file)
        if not path.is_file():
            raise Seq2SeqError(f"inputs_file not found: {path}")
        lines = split_lines(path.read_bytes().decode("utf-8"))
        texts = [line for line in lines if line.strip()]
    else:
        texts = [s for s, _ in run_test_pairs(run_dir)]
    if not texts:
        raise Seq2SeqError("no benchmark inputs")
    if num <= len(texts):
        return [texts[i * len(texts) // num] for i in range(num)]
    return [texts[i % len(texts)] for i in range(num)]


def _as_list(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def textbook_decode(translator: Translator, text: str, max_length: int, call: str) -> str:
    """The Keras example's loop for one sentence (``call``: ``predict`` or ``predict_on_batch``)
    over the model's oracle Keras models, whatever its state holds. A model without them (the
    Transformer, whose oracle re-runs the decoder over the prefix) runs its oracle eagerly."""
    encoder, step = translator.model.encoder, translator.model.decoder_step
    source = np.asarray([translator.source_vocab.encode(normalize_input(text))], np.int32)
    if encoder is None:
        model = translator.model
        out = greedy_loop(model.reference_encode, model.reference_step, source, max_length)
        return translator.target_vocab.decode(out)

    def run(model, x):
        return model.predict(x, verbose=0) if call == "predict" else model.predict_on_batch(x)

    def decoder_step(token, state):
        probs, *state = run(step, [token, *state])
        return probs[:, -1], state

    out = greedy_loop(lambda x: _as_list(run(encoder, x)), decoder_step, source, max_length)
    return translator.target_vocab.decode(out)


def step_timers(
    translator: Translator, batch: int, steps: int = 32
) -> tuple[Callable[[], float], Callable[[], float]]:
    """Two timers (compiled once): seconds per encoder step and per greedy decoder step on
    ``batch`` rows, XLA-compiled.

    Each times the bare arithmetic our loop repeats (the model's encoder step, and for the
    decoder the model's step and the arg-max), with no padding, compaction or Python work:
    a per-step floor.
    """
    model = translator.model
    source = tf.fill([batch, steps], tf.constant(START_ID + 3, tf.int32))  # a real character

    @tf.function(jit_compile=True)
    def decode(state):
        def body(t, tokens, state):
            probs, state = model.step(tokens, state)
            return t + 1, tf.argmax(probs, axis=-1, output_type=tf.int32), state

        start = tf.fill([batch], tf.constant(START_ID, tf.int32))
        return tf.while_loop(lambda t, *_: t < steps, body, (0, start, state))[2]

    def first(structure) -> np.ndarray:
        return tf.nest.flatten(structure)[0].numpy()  # wait for the result

    encode = tf.function(model.encode, jit_compile=True)
    state = encode(source)
    first(decode(state))  # compile

    def encoder() -> float:
        return _time(lambda: first(encode(source)), 1)[0] / steps

    def decoder() -> float:
        return _time(lambda: first(decode(state)), 1)[0] / steps

    return encoder, decoder


def step_seconds(translator: Translator, batch: int, steps: int = 32) -> tuple[float, float]:
    """The fastest of 10 timings of each :func:`step_timers` (the least disturbed)."""
    encoder, decoder = step_timers(translator, batch, steps)
    return min(encoder() for _ in range(10)), min(decoder() for _ in range(10))


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_decode_benchmark(
    run_dir: str | Path,
    num_sentences: int = 1024,
    textbook_sentences: int = 24,
    batch_sizes: Sequence[int] = (1, 64, 1024),
    batch1_sentences: int = 256,
    repeats: int = 3,
    inputs_file: str | None = None,
    max_length: int | None = None,
    floor_batches: int = 8,
) -> dict[str, Any]:
    """Times A, B and C (see the module docstring) and checks that they agree; then C at the
    largest batch size on ``floor_batches`` batches of the run's inputs against the
    arithmetic floor, with length-sorted batches and without.

    Returns:
        A JSON-ready dict: sentences/s and chars/s per method, speedups keyed by batch size,
        and ``identical_outputs``.
    """
    run_dir = Path(run_dir)
    if min(num_sentences, textbook_sentences, batch1_sentences, repeats, floor_batches) < 1:
        raise Seq2SeqError(
            "num_sentences, textbook_sentences, batch1_sentences, repeats and floor_batches"
            " must be >= 1"
        )
    translator = open_translator([str(run_dir)])  # as the commands load it
    max_length = max_length or translator.max_output_length
    few = benchmark_inputs(run_dir, textbook_sentences, inputs_file)
    texts = [few[i % len(few)] for i in range(num_sentences)]
    # Batch size 1 is slower: time whole rounds of the distinct inputs, about batch1_sentences.
    batch1_work = texts[: max(1, round(batch1_sentences / len(few))) * len(few)]
    log.info("benchmark: %d distinct inputs (%d in total for C), max_length %d",
             len(few), len(texts), max_length)  # fmt: skip
    results: dict[str, Any] = {
        "run_dir": str(run_dir),
        "num_sentences": len(texts),
        "textbook_sentences": len(few),
        "batch1_sentences": len(batch1_work),
        "max_length": max_length,
        "tensorflow": tf.__version__,
    }
    outputs = _time_textbook(translator, few, max_length, results)
    compiled = {}
    for xla in (True, False):
        work = {bs: batch1_work if bs == 1 else texts for bs in batch_sizes}
        compiled |= _time_compiled(translator, work, max_length, xla, repeats, results)
    _speedups(results)
    expected = [outputs["textbook"][i % len(few)] for i in range(len(texts))]
    results["identical_outputs"] = bool(
        outputs["textbook"] == outputs["python_loop"]
        and all(out == expected[: len(out)] for out in compiled.values())
    )
    _arithmetic_floor(translator, few, outputs["textbook"], max(batch_sizes), results)
    floor_texts = benchmark_inputs(run_dir, floor_batches * max(batch_sizes), inputs_file)
    _floor_fraction(translator, floor_texts, max_length, max(batch_sizes), repeats, results)
    results["sample_outputs"] = list(zip(few, outputs["textbook"], strict=True))[:5]
    return results


def _speedups(results: dict[str, Any]) -> None:
    """C's speedups over A and B per batch size (into ``results``)."""
    for baseline in ("textbook", "python_loop"):
        results[f"speedup_vs_{baseline}"] = {
            k: v / results[f"{baseline}_sentences_per_s"]
            for k, v in results["sentences_per_s"].items()
        }


def _time_textbook(
    translator: Translator, few: list[str], max_length: int, results: dict[str, Any]
) -> dict[str, list[str]]:
    """Times A and B on ``few`` (into ``results``); returns their outputs."""
    outputs: dict[str, list[str]] = {}
    # Warm-up: trace Keras's predict function for every input shape, and run predict once,
    # so A and B are timed on their steady state (a retrace costs far more than a B step).
    for text in few:
        textbook_decode(translator, text, max_length, "predict_on_batch")
    textbook_decode(translator, few[0], max_length, "predict")
    for name, call in (("textbook", "predict"), ("python_loop", "predict_on_batch")):
        log.info("timing %s (%s per character, one sentence at a time)", name, call)
        start = time.perf_counter()
        outputs[name] = [textbook_decode(translator, t, max_length, call) for t in few]
        seconds = time.perf_counter() - start
        results[f"{name}_sentences_per_s"] = len(few) / seconds
        results[f"{name}_chars_per_s"] = sum(map(len, outputs[name])) / seconds
    return outputs


def _time_compiled(
    translator: Translator,
    work: dict[int, list[str]],
    max_length: int,
    xla: bool,
    repeats: int,
    results: dict[str, Any],
) -> dict[str, list[str]]:
    """Times C at each batch size (into ``results``); returns its outputs by batch size."""
    suffix = "" if xla else "_no_xla"
    sentences_per_s: dict[str, float] = {}
    chars_per_s: dict[str, float] = {}
    outputs: dict[str, list[str]] = {}
    for bs, texts in work.items():

        def ours(w=texts, b=bs):
            return translator.translate(w, batch_size=b, max_length=max_length, jit_compile=xla)

        ours()  # trace, compile every batch shape, warm up
        log.info("timing compiled loop (xla=%s) at batch size %d on %d inputs", xla, bs, len(texts))
        seconds, out = _time(ours, repeats)
        outputs[f"{bs}{suffix}"] = out
        sentences_per_s[str(bs)] = len(texts) / seconds
        chars_per_s[str(bs)] = sum(map(len, out)) / seconds
    results[f"sentences_per_s{suffix}"] = sentences_per_s
    results[f"chars_per_s{suffix}"] = chars_per_s
    return outputs


def mean_steps(translator: Translator, texts: list[str], outputs: list[str]) -> tuple[float, float]:
    """The mean encoder steps of ``texts`` and decoder tokens of ``outputs`` (END not
    counted): characters, or a subword run's pieces."""
    sources = translator.encode_batch(texts).lengths
    targets = [len(translator.target_vocab.encode(o)) for o in outputs]
    return float(sources.mean()), sum(targets) / len(targets)


def _arithmetic_floor(
    translator: Translator, few: list[str], outputs: list[str], batch: int, results: dict
) -> None:
    """What the arithmetic alone allows at ``batch``: every encoder and decoder step on a
    full batch at the measured per-step time, nothing else (into ``results``)."""
    mean_source, mean_output = mean_steps(translator, few, outputs)
    enc_step, dec_step = step_seconds(translator, batch)
    ideal = batch / (enc_step * mean_source + dec_step * (mean_output + 1))
    results["mean_source_chars"] = sum(len(normalize_input(t)) for t in few) / len(few)
    results["mean_output_chars"] = sum(map(len, outputs)) / len(few)
    results["mean_source_tokens"], results["mean_output_tokens"] = mean_source, mean_output
    results["arithmetic_floor"] = {
        "batch_size": batch,
        "encoder_step_ms": enc_step * 1000,
        "decoder_step_ms": dec_step * 1000,
        "sentences_per_s": ideal,
        "speedup_vs_textbook": ideal / results["textbook_sentences_per_s"],
        "speedup_vs_python_loop": ideal / results["python_loop_sentences_per_s"],
    }


def _floor_fraction(
    translator: Translator,
    texts: list[str],
    max_length: int,
    batch: int,
    repeats: int,
    results: dict,
) -> None:
    """C (XLA) at ``batch`` on all of ``texts`` (several batches of the run's real inputs) as
    a fraction of the arithmetic floor of those inputs, with length-sorted batches and with
    batches in input order; C and the floor's step timers run in turn in each of
    ``repeats`` rounds (so a disturbance of the machine hits both). The medians go into
    ``results["arithmetic_floor"]`` as ``fraction_reached_sorted`` / ``_unsorted``."""
    encoder, decoder = step_timers(translator, batch)
    floor = results["arithmetic_floor"]
    outputs = translator.translate(texts, batch_size=batch, max_length=max_length,
                                   jit_compile=True)  # fmt: skip
    mean_source, mean_output = mean_steps(translator, texts, outputs)
    floor["floor_inputs"] = {"sentences": len(texts), "mean_source_tokens": mean_source,
                             "mean_output_tokens": mean_output}  # fmt: skip
    for sort in (True, False):
        translator.translate(
            texts, batch_size=batch, max_length=max_length, jit_compile=True, sort_by_length=sort
        )  # fmt: skip  (compile every batch shape)
        fractions = []
        for _ in range(max(repeats, 5)):
            seconds = _time(
                lambda s=sort: translator.translate(texts, batch_size=batch, max_length=max_length,
                                                    jit_compile=True, sort_by_length=s), 1
            )[0]  # fmt: skip
            ideal = batch / (encoder() * mean_source + decoder() * (mean_output + 1))
            fractions.append(len(texts) / seconds / ideal)
        name = "sorted" if sort else "unsorted"
        floor[f"fraction_reached_{name}"] = statistics.median(fractions)
        floor[f"fractions_per_round_{name}"] = fractions
