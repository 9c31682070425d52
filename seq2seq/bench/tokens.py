"""``s2s-benchmark tokens``: what one generated token costs at output position 10, 100, ...
for a Transformer decoding with its cache (one compiled ``model.step``, the decode loop's
own), against the textbook way without one (the whole decoder re-run over the prefix, as
the family's oracle does).

The cache is preallocated to the decoding length (``max_length``), so every cached step
attends over that many slots (masked past the step): its cost is flat in the position. The
re-run's grows with it. Each position is timed ``repeats`` times; the median is reported.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import tensorflow as tf

from seq2seq.bench.startup import cpu_model
from seq2seq.errors import Seq2SeqError

#: The speed anchor's size (issue: 3 + 3 layers x 256, feed-forward 1,024, 4 heads, 1k vocab).
ANCHOR = {"units": 256, "heads": 4, "ff_units": 1024, "encoder_layers": 3, "decoder_layers": 3}


def _model(run_dir: str | None, vocab_size: int) -> Any:
    """The run's model, or an untrained one of the anchor's size (timing needs no training)."""
    from seq2seq.models import build_model

    if run_dir:
        from seq2seq.translation import Translator

        model = Translator.from_run_dir(run_dir).model
    else:
        model = build_model("transformer", vocab_size, vocab_size, **ANCHOR)
    if not hasattr(model, "decoder_stack"):
        raise Seq2SeqError(f"run_dir={run_dir}: the tokens benchmark times a Transformer run")
    return model


def _median_ms(call, repeats: int) -> float:
    """The median milliseconds of ``call`` after one untimed call (tracing, warm caches)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run_tokens_benchmark(
    run_dir: str | None = None,
    positions: tuple[int, ...] = (10, 100),
    batch_size: int = 1,
    source_length: int = 20,
    vocab_size: int = 1000,
    repeats: int = 20,
) -> dict[str, Any]:
    """Milliseconds per generated token at each of ``positions``, cached and re-run."""
    model = _model(run_dir, vocab_size)
    max_length = max(positions) + 1
    rng = np.random.default_rng(0)
    source = tf.constant(rng.integers(4, model.source_vocab_size, (batch_size, source_length)),
                         tf.int32)  # fmt: skip
    tokens = tf.fill([batch_size], 4)
    step = tf.function(model.step)
    state = model.decoding_state(source, tf.constant(max_length))
    cached: dict[int, float] = {}
    for t in range(max_length):
        if t in positions:
            at = state
            cached[t] = _median_ms(lambda at=at: step(tokens, at)[0].numpy(), repeats)
        state = step(tokens, state)[1]
    memory = model.encoder_stack(source, training=False)
    rerun = tf.function(lambda prefix: model.decoder_stack(prefix, memory, source)[:, -1],
                        input_signature=[tf.TensorSpec([None, None], tf.int32)])  # fmt: skip
    uncached = {t: _median_ms(lambda t=t: rerun(tf.fill([batch_size, t + 1], 4)).numpy(), repeats)
                for t in positions}  # fmt: skip
    first, last = min(positions), max(positions)
    return {
        "cpu": cpu_model(),
        "model": run_dir or "untrained: " + ", ".join(f"{k}={v}" for k, v in ANCHOR.items()),
        "batch_size": batch_size,
        "source_length": source_length,
        "max_length": max_length,
        "cached_ms_per_token": {str(t): round(v, 3) for t, v in cached.items()},
        "no_cache_ms_per_token": {str(t): round(v, 3) for t, v in uncached.items()},
        f"cached_token_{last}_over_token_{first}": round(cached[last] / cached[first], 2),
        f"no_cache_token_{last}_over_token_{first}": round(uncached[last] / uncached[first], 2),
    }
