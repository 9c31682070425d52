"""``trainer.precision=auto``: bfloat16 where this CPU computes it natively (AMX or
AVX512_BF16) *and* a start-up micro-benchmark at the model's own shapes says it trains
faster; float32 otherwise. On an AMX Xeon, bf16 products at an LSTM's shapes ran 3-4x
float32; on a Zen 3 (no native bf16), mixed_bfloat16 was 17-38% slower: a machine fact the
user should not have to know.

The micro-benchmark trains a fresh model of each precision for a few updates on one real
training batch (the first ones compile, then the median of the rest); the choice, the
measured speed-up and the reason are logged and kept in ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seq2seq.settings import TrainSettings
from seq2seq.training.model import new_model
from seq2seq.training.vocabularies import Datasets, Vocabularies

log = logging.getLogger(__name__)

#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
#: How much faster bfloat16 must be to be chosen (below it, float32's exactness wins).
MIN_SPEEDUP = 1.1
TIMED_UPDATES = 5


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``auto`` chose, and why.

    Attributes:
        name: ``float32`` or ``mixed_bfloat16``.
        speedup: float32's seconds per update over bfloat16's (None: not measured).
        reason: one line for the log.
    """

    name: str
    speedup: float | None
    reason: str

    def metrics(self) -> dict[str, Any]:
        """Its entries in ``metrics.json``."""
        return {"train/precision": self.name, "train/bf16_speedup": self.speedup}


def native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> str | None:
    """The first of :data:`BF16_FLAGS` this CPU has, or None (also off Linux)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])  # fmt: skip
    return next((flag for flag in BF16_FLAGS if flag in flags), None)


def seconds_per_update(vocabs: Vocabularies, settings: TrainSettings, precision: str,
                       batch: Any) -> float:  # fmt: skip
    """The median seconds of one training update of a fresh model in ``precision``."""
    model = new_model(vocabs, settings, precision).training
    x, y = batch
    for _ in range(2):  # the first compiles
        model.train_on_batch(x, y)
    times = []
    for _ in range(TIMED_UPDATES):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def choose_precision(
    vocabs: Vocabularies,
    settings: TrainSettings,
    datasets: Datasets,
    cpuinfo: str | Path = "/proc/cpuinfo",
) -> PrecisionChoice:
    """What ``trainer.precision=auto`` trains in on this machine, for this model."""
    if settings.trainer.distribute:
        return PrecisionChoice(
            "float32", None, "with trainer.distribute every worker must train alike"
        )
    flag = native_bf16(cpuinfo)
    if flag is None:
        return PrecisionChoice(
            "float32", None, "no native bfloat16 on this CPU (AMX or AVX512_BF16)"
        )
    batch = next(iter(datasets.train))
    f32 = seconds_per_update(vocabs, settings, "float32", batch)
    bf16 = seconds_per_update(vocabs, settings, "mixed_bfloat16", batch)
    speedup = round(f32 / bf16, 2)
    name = "mixed_bfloat16" if speedup >= MIN_SPEEDUP else "float32"
    return PrecisionChoice(name, speedup, f"the CPU has {flag}; at this model's shapes an update"
                           f" took {bf16 * 1000:.0f} ms in bfloat16, {f32 * 1000:.0f} ms in"
                           f" float32: {speedup}x as fast")  # fmt: skip


def resolve_precision(
    vocabs: Vocabularies, settings: TrainSettings, datasets: Datasets, resuming: bool
) -> tuple[TrainSettings, PrecisionChoice | None]:
    """``settings`` with ``trainer.precision`` decided (``auto`` only; a resumed run keeps the
    precision its checkpoint was trained in, read from its layers), and the choice."""
    if settings.trainer.precision != "auto" or resuming:
        return settings, None
    choice = choose_precision(vocabs, settings, datasets)
    log.info("trainer.precision=auto: %s (%s)", choice.name, choice.reason)
    trainer = dataclasses.replace(settings.trainer, precision=choice.name)
    return dataclasses.replace(settings, trainer=trainer), choice
