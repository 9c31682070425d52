"""Learning-rate schedules: a decay over the epochs or over the time budget's minutes (it then
reaches its floor at the deadline on any machine), a warm-up in updates or in minutes, and the
Transformer's inverse square root. The rate is set on the optimizer by callbacks; every count
they read (the epoch index, the optimizer's updates, the run's training clock) survives a
resume, so a resumed run stays on its curve."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras

# How a rate falls from its peak to its floor as progress goes from 0 to 1.
DECAY_SHAPES = ("cosine", "linear")
# The floor of every decay, as a fraction of trainer.learning_rate.
FINAL_FRACTION = 0.05


def decay(progress: float, shape: str) -> float:
    """The fraction of the way from the floor to the peak at ``progress`` in [0, 1]: 1 at the
    start, 0 at the end (a half cosine, or a straight line)."""
    progress = min(1.0, max(0.0, progress))
    if shape == "linear":
        return 1.0 - progress
    return 0.5 * (1 + math.cos(math.pi * progress))


class ConstantRate:
    """The learning rate of every epoch: one value."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, epoch: int) -> float:
        return self.rate


class TimeDecay:
    """A decay over the time budget: the learning rate of the moment, from ``learning_rate``
    once any warm-up is over to ``learning_rate * FINAL_FRACTION`` at the deadline (``clock``:
    training seconds over every resume)."""

    def __init__(self, learning_rate: float, max_minutes: float, clock: Callable[[], float],
                 shape: str = "cosine", start_seconds: float = 0.0) -> None:  # fmt: skip
        """``start_seconds``: the decay starts there (after a warm-up in minutes)."""
        self.learning_rate, self.seconds, self.clock = learning_rate, 60.0 * max_minutes, clock
        self.shape, self.start = shape, min(start_seconds, 60.0 * max_minutes)
        self.final = learning_rate * FINAL_FRACTION

    def __call__(self, epoch: int) -> float:
        progress = (self.clock() - self.start) / max(self.seconds - self.start, 1e-9)
        return self.final + (self.learning_rate - self.final) * decay(progress, self.shape)


class EpochDecay(keras.callbacks.Callback):
    """Sets the learning rate at the start of every epoch along a decay, from
    ``learning_rate`` at the first epoch to ``learning_rate * FINAL_FRACTION`` at the last of
    ``epochs`` (the epoch index is absolute, so a resumed run stays on the curve)."""

    def __init__(self, learning_rate: float, epochs: int, shape: str = "cosine") -> None:
        super().__init__()
        self.learning_rate, self.epochs, self.shape = learning_rate, epochs, shape
        self.final = learning_rate * FINAL_FRACTION

    def rate(self, epoch: int) -> float:
        """The learning rate of 0-based ``epoch``."""
        progress = epoch / max(1, self.epochs - 1)
        return self.final + (self.learning_rate - self.final) * decay(progress, self.shape)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.model.optimizer.learning_rate.assign(self.rate(epoch))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:  # for history.csv and TensorBoard, as ReduceLROnPlateau does
            logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())


class StepSchedule(keras.callbacks.Callback):
    """Sets the learning rate before every update: a linear warm-up to the epoch's rate
    (``rate_of_epoch``: constant, a decay's), over ``warmup_steps`` updates or, with a
    ``clock``, ``warmup_seconds`` of training; then, with ``inverse_sqrt``, a decay as
    ``1 / sqrt(update)`` from that peak (Vaswani et al. 2017). The counts are the
    optimizer's updates and the run's clock, so a resumed run stays on the curve."""

    def __init__(self, rate_of_epoch: Any, warmup_steps: int = 0, inverse_sqrt: bool = False,
                 every_update: bool = False, warmup_seconds: float = 0.0,
                 clock: Callable[[], float] | None = None) -> None:  # fmt: skip
        """``every_update``: set the rate at every update, not only while warming up (a
        rate that moves within an epoch: ``inverse_sqrt``, or one that follows the clock)."""
        super().__init__()
        self.rate_of_epoch, self.warmup = rate_of_epoch, warmup_steps
        self.warmup_seconds, self.clock = warmup_seconds if clock else 0.0, clock
        self.inverse_sqrt = inverse_sqrt
        self.every_update = every_update or inverse_sqrt or bool(self.warmup_seconds)
        self.epoch = 0

    def factor(self, update: int, seconds: float = 0.0) -> float:
        """The multiplier of the epoch's rate at 1-based ``update``, ``seconds`` into training."""
        if seconds < self.warmup_seconds:
            return seconds / self.warmup_seconds
        if update < self.warmup:
            return update / self.warmup
        if self.inverse_sqrt:
            return math.sqrt(max(self.warmup, 1) / update)
        return 1.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        update = int(self.model.optimizer.iterations.numpy()) + 1
        seconds = self.clock() if self.clock else 0.0
        warming = update <= self.warmup or seconds <= self.warmup_seconds
        if warming or self.every_update:  # after a warm-up alone: hands off
            rate = self.rate_of_epoch(self.epoch) * self.factor(update, seconds)
            self.model.optimizer.learning_rate.assign(rate)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())
