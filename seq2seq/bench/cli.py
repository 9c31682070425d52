"""``s2s-benchmark <name> key=value ...`` (decode, train, time_to_quality, memory, serve, step,
startup, tokens, budget, litert): parses the arguments and runs one benchmark, printing its
report as one JSON object on stdout."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from seq2seq.errors import Seq2SeqError


def true_or_false(value: str) -> bool:
    """``true`` / ``false`` (any case) as a bool."""
    return {"true": True, "false": False}[value.lower()]


DECODE_ARGS = {"run_dir": str, "num_sentences": int, "textbook_sentences": int,
               "batch1_sentences": int, "repeats": int, "inputs_file": str,
               "max_length": int, "floor_batches": int}  # fmt: skip
TRAIN_ARGS = {"data_path": str, "num_samples": int, "rounds": int, "seed": int, "units": int,
              "batch_size": int, "learning_rate": float, "bucket_width": int,
              "bucket_by": str, "jit_compile": true_or_false,
              "bfloat16": true_or_false}  # fmt: skip


def int_list(value: str) -> tuple[int, ...]:
    """``500000,5000000`` as positive integers."""
    numbers = tuple(int(v) for v in value.split(","))
    if not numbers or min(numbers) < 1:
        raise ValueError(value)
    return numbers


int_list.__name__ = "comma_separated_positive_integers"
QUALITY_ARGS = {"data_path": str, "num_samples": int, "textbook_epochs": int, "max_epochs": int,
                "seed": int, "units": int, "batch_size": int, "learning_rate": float,
                "bucket_width": int, "bucket_by": str, "bfloat16": true_or_false}  # fmt: skip
SETUP_KEYS = ("units", "batch_size", "learning_rate", "bucket_width", "bucket_by", "jit_compile",
              "bfloat16")  # fmt: skip
SERVE_ARGS = {"run_dir": str, "concurrency": int_list, "requests": int, "max_seconds": float,
              "max_batch_size": int, "max_wait_ms": float, "num_inputs": int,
              "litert_dir": str}  # fmt: skip
MEMORY_ARGS = {"data_path": str, "lines": int_list, "steps": int, "work_dir": str}
TOKENS_ARGS = {"run_dir": str, "positions": int_list, "batch_size": int, "source_length": int,
               "vocab_size": int, "repeats": int}  # fmt: skip


def float_list(value: str) -> tuple[float, ...]:
    """``0,0.2`` as numbers."""
    return tuple(float(v) for v in value.split(","))


def word_list(value: str) -> tuple[str, ...]:
    """``float32,mixed_bfloat16`` as words."""
    words = tuple(v.strip() for v in value.split(","))
    if not all(words):
        raise ValueError(value)
    return words


float_list.__name__, word_list.__name__ = "comma_separated_numbers", "comma_separated_names"
BUDGET_ARGS = {"data_path": str, "budgets": float_list, "schedules": word_list, "epochs": int,
               "experiment": str, "work_dir": str, "overrides": str}  # fmt: skip
STEP_ARGS = {"vocab_sizes": int_list, "dropout": float_list, "precision": word_list,
             "source_length": int, "target_length": int, "batch_size": int, "units": int,
             "repeats": int, "epoch_pairs": int}  # fmt: skip
USAGE = (
    "usage: s2s-benchmark decode run_dir=<run> [num_sentences=N] [...]"
    " | s2s-benchmark train data_path=<anki file> [num_samples=N] [rounds=R] [...]"
    " | s2s-benchmark time_to_quality data_path=<anki file> [batch_size=N] [...]"
    " | s2s-benchmark memory data_path=<anki file> [lines=500000,5000000] [steps=200]"
    " | s2s-benchmark serve run_dir=<run> [concurrency=1,16,64,256] [requests=5000] [...]"
    " | s2s-benchmark step [vocab_sizes=100,2000,4000] [dropout=0,0.2] [precision=...] [...]"
    " | s2s-benchmark startup [repeats=5]"
    " | s2s-benchmark tokens [run_dir=<transformer run>] [positions=10,100] [batch_size=1]"
    " | s2s-benchmark budget data_path=<anki file> [budgets=5,10,20] [schedules=minutes,epochs]"
    " | s2s-benchmark litert run_dir=<run> [engines=none,int8,float16] [num_sentences=512]"
)
BENCHMARKS = ("decode", "train", "time_to_quality", "memory", "serve", "step", "startup", "tokens",
              "budget", "litert")  # fmt: skip
LITERT_ARGS = {"run_dir": str, "num_sentences": int, "batch1_sentences": int, "repeats": int,
               "engines": word_list, "num_threads": int}  # fmt: skip


def parse_args(args: Sequence[str], types: dict[str, type]) -> dict[str, Any]:
    """``key=value`` arguments converted by ``types`` (one-line errors)."""
    options: dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or key not in types:
            raise Seq2SeqError(
                f"unknown argument {arg!r}; expected key=value with key in {list(types)}"
            )
        try:
            options[key] = types[key](value)
        except (ValueError, KeyError):
            kind = types[key].__name__.replace("_", " ")
            raise Seq2SeqError(f"{key} must be {kind}, got {value!r}") from None
    return options


#: What each file-reading benchmark must be given, and how to say it.
REQUIRED = {"run_dir": "run_dir=<training run directory> is required",
            "data_path": "data_path=<Anki/Tatoeba pairs file> is required"}  # fmt: skip
#: ``name -> (module, function, argument types, required argument)``.
RUNNERS = {
    "litert": ("seq2seq.bench.litert", "run_litert_benchmark", LITERT_ARGS, "run_dir"),
    "budget": ("seq2seq.bench.budget", "run_budget_benchmark", BUDGET_ARGS, "data_path"),
    "tokens": ("seq2seq.bench.tokens", "run_tokens_benchmark", TOKENS_ARGS, None),
    "startup": ("seq2seq.bench.startup", "run_startup_benchmark", {"repeats": int}, None),
    "step": ("seq2seq.bench.step", "run_step_benchmark", STEP_ARGS, None),
    "serve": ("seq2seq.bench.serve", "run_serve_benchmark", SERVE_ARGS, "run_dir"),
    "memory": ("seq2seq.bench.memory", "run_memory_benchmark", MEMORY_ARGS, "data_path"),
    "decode": ("seq2seq.bench.decode", "run_decode_benchmark", DECODE_ARGS, "run_dir"),
}


def _train_benchmark(name: str, args: Sequence[str]) -> dict[str, Any]:
    """``train`` or ``time_to_quality``: the setup keys go into one record."""
    from seq2seq.bench.train import Setup, run_time_to_quality, run_train_benchmark

    options = parse_args(args, TRAIN_ARGS if name == "train" else QUALITY_ARGS)
    if "data_path" not in options:
        raise Seq2SeqError(REQUIRED["data_path"])
    setup = Setup(**{k: options.pop(k) for k in set(SETUP_KEYS) & options.keys()})
    if options.get("num_samples") == 0:
        options["num_samples"] = None  # all pairs
    run = run_train_benchmark if name == "train" else run_time_to_quality
    return run(setup=setup, **options)


def main(argv: Sequence[str]) -> int:
    """``s2s-benchmark <name> key=value ...``: prints one JSON object."""
    if not argv or argv[0] not in BENCHMARKS:
        raise Seq2SeqError(USAGE)
    if argv[0] in ("train", "time_to_quality"):
        report = _train_benchmark(argv[0], argv[1:])
    else:
        module, function, types, required = RUNNERS[argv[0]]
        options = parse_args(argv[1:], types)
        if required is not None and required not in options:
            raise Seq2SeqError(REQUIRED[required])
        report = getattr(importlib.import_module(module), function)(**options)
    sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0
