"""The ``decoding.*`` settings: what every search rule shares, and each rule's parameters.

``configs/decoding/<rule>.yaml`` picks these defaults up from Hydra's ConfigStore (as
``/search_rule/<rule>``). The rules themselves (TensorFlow code) live in
:mod:`seq2seq.decoding` and register under the names declared in :data:`RULE_PARAMS`.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from dataclasses import dataclass
from typing import Any

from seq2seq.checks import non_negative, positive, switch
from seq2seq.errors import Seq2SeqError

#: The longest output a decode may ask for, in tokens (END included): the compiled loop
#: keeps a buffer of that many ids, so a larger ``max_length`` is refused, not allocated.
MAX_LENGTH = 4096
#: The widest search (beam size) a rule may keep per input.
MAX_WIDTH = 256
#: Search-rule parameters with this name come from the task's top-level ``seed``.
SEED_PARAM = "seed"
#: The largest seed, everywhere (NumPy and Keras take seeds in ``[0, 2**32)``; sampling's
#: random ops take the same seed as its 32 bits).
MAX_SEED = 2**32 - 1


def optional_seed(value: Any) -> int | None:
    """An integer seed in ``[0, 2**32)`` (a whole-number float is that integer), or None.

    Raises:
        Seq2SeqError: anything else.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED
    ):
        raise Seq2SeqError(f"seed must be an integer from 0 to {MAX_SEED} or null, got {value!r}")
    return value


#: The longest n-gram ``decoding.no_repeat_ngram_size`` may block.
MAX_NGRAM = 64


@dataclass(frozen=True)
class LoopControls:
    """What the decode loop controls for every rule (see :mod:`seq2seq.decoding.controls`).

    Attributes:
        max_length_ratio: each input's output limit is ``ceil(ratio × its source tokens) +
            max_length_offset`` tokens, capped by ``max_length`` (None: ``max_length`` only).
        max_length_offset: added to the scaled source length (needs ``max_length_ratio``).
        no_repeat_ngram_size: never emit a token that repeats an n-gram of this size already
            in the hypothesis (0 = off; 1 = no token twice).
        repetition_penalty: multiply the log-probability of a token the hypothesis already
            emitted by this (1 = off; > 1 discourages repeats).
    """

    max_length_ratio: float | None = None
    max_length_offset: int = 0
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.max_length_ratio is not None:
            positive("decoding.max_length_ratio", self.max_length_ratio, float, at_most=1000.0)
        non_negative("decoding.max_length_offset", self.max_length_offset, at_most=MAX_LENGTH)
        if self.max_length_offset and self.max_length_ratio is None:
            raise Seq2SeqError(
                "decoding.max_length_offset adds to the scaled source length: set"
                " decoding.max_length_ratio too (or use decoding.max_length for a fixed limit)"
            )
        non_negative("decoding.no_repeat_ngram_size", self.no_repeat_ngram_size,
                     at_most=MAX_NGRAM)  # fmt: skip
        positive("decoding.repetition_penalty", self.repetition_penalty, float, at_most=100.0)

    @property
    def reads_history(self) -> bool:
        """Whether a control reads the tokens a hypothesis emitted (n-gram blocking, the
        repetition penalty): the loop then keeps them."""
        return self.no_repeat_ngram_size > 0 or self.repetition_penalty != 1.0


@dataclass(frozen=True)
class SharedDecoding:
    """The ``decoding.*`` settings every rule has.

    Attributes:
        name: the search rule (``greedy``, ``beam``, ``sample``; see :data:`RULE_PARAMS`).
        max_length: most output tokens per input, END included (None: from the data).
        jit_compile: compile the whole decode loop with XLA.
        n_best: candidates per input (at most what the rule keeps, e.g. ``beam_size``).
        max_length_ratio, max_length_offset, no_repeat_ngram_size, repetition_penalty: the
            loop's controls (:class:`LoopControls`).
    """

    name: str = "greedy"
    max_length: int | None = None
    jit_compile: bool = False
    n_best: int = 1
    max_length_ratio: float | None = None
    max_length_offset: int = 0
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.max_length is not None:
            positive("decoding.max_length", self.max_length, at_most=MAX_LENGTH)
        positive("decoding.n_best", self.n_best, at_most=MAX_WIDTH)
        switch("decoding.jit_compile", self.jit_compile)
        self.controls()  # checks them

    def controls(self) -> LoopControls:
        """The loop's controls (checked)."""
        names = [f.name for f in dataclasses.fields(LoopControls)]
        return LoopControls(**{name: getattr(self, name) for name in names})

    @classmethod
    def shared_fields(cls) -> list[dataclasses.Field]:
        """The fields every rule's ``decoding`` node has besides ``name``."""
        return [f for f in dataclasses.fields(SharedDecoding) if f.name != "name"]


@dataclass(frozen=True)
class NoParams:
    """A rule without parameters."""


@dataclass(frozen=True)
class BeamParams:
    """Parameters of beam search.

    Attributes:
        beam_size: partial translations kept at every step.
        length_penalty: GNMT alpha; a candidate's final score is
            ``log p / ((5 + length) / 6) ** alpha`` (0 = off, larger favours longer outputs).
    """

    beam_size: int = 5
    length_penalty: float = 0.6

    def __post_init__(self) -> None:
        positive("decoding.beam_size", self.beam_size, at_most=MAX_WIDTH)
        non_negative("decoding.length_penalty", self.length_penalty, float, at_most=100.0)


@dataclass(frozen=True)
class SamplingParams:
    """Parameters of sampling.

    Attributes:
        temperature: divides the log-probabilities; < 1 sharpens, > 1 flattens.
        top_k: sample among the k most probable tokens only (0 = all).
        seed: the draws are reproducible for a seed; ``None`` draws a fresh one.
    """

    temperature: float = 1.0
    top_k: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        positive("decoding.temperature", self.temperature, float, at_most=1000.0)
        non_negative("decoding.top_k", self.top_k)
        seed = optional_seed(self.seed)
        if seed is None:
            seed = random.SystemRandom().randrange(1 << 24)
        object.__setattr__(self, "seed", seed)


#: Each search rule's parameters record (``decoding.name``); a rule registered in
#: :mod:`seq2seq.decoding` under a name missing here is refused.
RULE_PARAMS: dict[str, type] = {"greedy": NoParams, "beam": BeamParams, "sample": SamplingParams}


#: Shared settings that belong to the one deciding how to decode, not to each input (a
#: request of the service may not set them).
PER_CALL = ("name", "jit_compile")


def per_input_keys() -> tuple[str, ...]:
    """The decoding settings an input may set for itself (the service's request keys beside
    ``decoding``, the rule's name): every rule's parameters and the shared settings that
    are not :data:`PER_CALL`, from the records themselves, so a new rule's parameters are
    accepted with no list edited."""
    return _keys_of(tuple(RULE_PARAMS.values()))


@functools.cache  # the service asks per input; the answer changes only with the rules
def _keys_of(records: tuple[type, ...]) -> tuple[str, ...]:
    shared = [f.name for f in SharedDecoding.shared_fields() if f.name not in PER_CALL]
    params = {f.name: None for p in records for f in dataclasses.fields(p)}
    return (*shared, *params)


def decoding_config_nodes() -> dict[str, dict[str, Any]]:
    """Per search rule, its ``decoding`` config with every default (for Hydra's store)."""
    shared = {f.name: f.default for f in SharedDecoding.shared_fields()}
    nodes = {}
    for name, params in RULE_PARAMS.items():
        fields = {f.name: f.default for f in dataclasses.fields(params) if f.name != SEED_PARAM}
        nodes[name] = {"name": name, **shared, **fields}
    return nodes
