"""Config parsed once into typed records, each checking its own values.

Only the task functions (``train``, ``translate``, ``evaluate``, ``export``) turn a Hydra
``DictConfig`` into these records; the library takes plain values. Defaults that Hydra's
config files do not repeat live here (and in each search rule's ``Params``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seq2seq.checks import fraction, non_negative, positive, switch
from seq2seq.data.pipeline import BUCKET_SIDES
from seq2seq.decoding import SEARCH_RULES, SearchRule
from seq2seq.distribute import STRATEGIES
from seq2seq.errors import Seq2SeqError
from seq2seq.options.decoding import SEED_PARAM, SharedDecoding, optional_seed
from seq2seq.options.trainer import (
    DECODED_MONITORS,
    LR_SCHEDULES,
    MONITORS,
    OPTIMIZERS,
    PRECISIONS,
    check_schedule,
)
from seq2seq.registry import make_options, typed_values


def plain(node: Any) -> Any:
    """A config node as plain Python values (``${...}`` resolved)."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return node


@dataclass(frozen=True)
class DecodingSettings(SharedDecoding):
    """``decoding.*``: which search rule, its parameters, and the shared options (the fields
    of :class:`~seq2seq.options.decoding.SharedDecoding`).

    Attributes:
        params: the rule's checked ``Params`` record.
    """

    params: Any = field(default=None, compare=False)

    @classmethod
    def from_config(cls, node: Any, seed: int | None = None) -> DecodingSettings:
        """Parses a ``decoding`` node; ``seed`` feeds a rule parameter named ``seed``."""
        values = dict(plain(node) or {})
        name = values.pop("name", cls.name)
        rule = SEARCH_RULES.get(name)
        shared = {f.name: values.pop(f.name) for f in cls.shared_fields() if f.name in values}
        if SEED_PARAM in {f.name for f in dataclasses.fields(rule.Params)}:
            values.setdefault(SEED_PARAM, optional_seed(seed))
        return cls(name=name, **typed_values(SharedDecoding, shared), params=rule.params(**values))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.params is None:
            object.__setattr__(self, "params", self.rule.params())
        most = self.rule.max_candidates(self.params)
        if self.n_best > most:
            raise Seq2SeqError(
                f"decoding.n_best must be at most {most} for decoding={self.name}"
                f" (got {self.n_best})"
            )

    @property
    def rule(self) -> type[SearchRule]:
        """The search rule class."""
        return SEARCH_RULES.get(self.name)

    def options(self) -> dict[str, Any]:
        """Keyword arguments of :meth:`seq2seq.translation.Translator.candidates`."""
        return {
            "decoding": self.name,
            "max_length": self.max_length,
            "jit_compile": self.jit_compile,
            "n_best": self.n_best,
            "params": self.params,
            "controls": self.controls(),
        }


def inference_decoding(node: Any, seed: Any) -> DecodingSettings:
    """``decoding.*`` of translate / evaluate, whose top-level ``seed`` only feeds a rule that
    draws at random: a seed given to another rule is refused, not ignored.

    Raises:
        Seq2SeqError: a bad decoding setting, a seed that is not an integer, or a seed with a
            rule that does not use one.
    """
    seed = optional_seed(seed)
    decoding = DecodingSettings.from_config(node, seed)
    if seed is not None and SEED_PARAM not in {
        f.name for f in dataclasses.fields(decoding.rule.Params)
    }:
        raise Seq2SeqError(
            f"seed={seed} has no effect with decoding={decoding.name}: only decoding=sample"
            " draws at random (leave seed unset)"
        )
    return decoding


@dataclass(frozen=True)
class Watch:
    """A callback watching a metric (``trainer.early_stopping`` / ``trainer.reduce_lr``).

    Attributes:
        monitor: the epoch-log key, e.g. ``val_loss`` or ``val_chrf``.
        mode: ``min`` or ``max`` (``auto`` resolved: ``max`` for accuracy-like metrics).
        patience: epochs without improvement before acting.
        factor: learning-rate multiplier (``reduce_lr`` only).
        min_lr: learning-rate floor (``reduce_lr`` only).
    """

    monitor: str
    mode: str
    patience: int
    factor: float | None = None
    min_lr: float | None = None

    @classmethod
    def from_config(cls, key: str, node: dict[str, Any] | None) -> Watch | None:
        """Parses ``trainer.<key>``; None when the node (or its switch) is null."""
        switch = "factor" if key == "reduce_lr" else "patience"
        if not node or node.get(switch) is None:
            return None
        monitor, mode = str(node.get("monitor", "val_loss")), str(node.get("mode", "auto"))
        if monitor not in MONITORS:
            raise Seq2SeqError(
                f"trainer.{key}.monitor={monitor!r} is unknown; choose one of {list(MONITORS)}"
            )
        if mode not in ("auto", "min", "max"):
            raise Seq2SeqError(f"trainer.{key}.mode must be auto, min or max, got {mode!r}")
        if mode == "auto":
            accuracy_like = ("acc", "chrf", "bleu", "exact_match")
            mode = "max" if any(k in monitor for k in accuracy_like) else "min"
        patience = node.get("patience")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise Seq2SeqError(f"trainer.{key}.patience must be 0 or more, got {patience!r}")
        factor = node.get("factor")
        if factor is not None and not (isinstance(factor, (int, float)) and 0 < factor < 1):
            raise Seq2SeqError(f"trainer.{key}.factor must be in (0, 1), got {factor!r}")
        min_lr = node.get("min_lr")
        if min_lr is not None:
            non_negative(f"trainer.{key}.min_lr", min_lr, float)
        return cls(monitor, mode, patience, factor, None if min_lr is None else float(min_lr))


def _optional_positive(node: dict[str, Any], key: str, kind: type = int) -> Any:
    """``trainer.<key>``: None, or a positive number of ``kind``."""
    value = node.get(key)
    return None if value is None else positive(f"trainer.{key}", value, kind)


def _optional_path(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list, bool)):
        raise Seq2SeqError(f"{key} must be a path, got {value!r}")
    return str(value)


@dataclass(frozen=True)
class TrainerSettings:
    """``trainer.*``, checked. Defaults live in ``configs/trainer/default.yaml``."""

    epochs: int
    steps_per_epoch: int | None
    max_minutes: float | None
    batch_size: int
    bucket_width: int | None
    bucket_by: str
    batch_tokens: int | None
    learning_rate: float
    optimizer: str
    clipnorm: float | None
    progress_bar: bool
    progress_seconds: float
    label_smoothing: float
    early_stopping: Watch | None
    reduce_lr: Watch | None
    lr_schedule: str | None
    val_decoding_every: int
    val_decoding_samples: int
    val_decoding_examples: int
    val_decoding_images: int
    resume: bool
    keep_checkpoints: int
    deterministic: bool
    jit_compile: bool = False
    distribute: str | None = None
    precision: str = "float32"
    init_from: str | None = None
    warmup_steps: int = 0
    beta_2: float = 0.999
    average_last: int | None = None
    schedule_over: str = "auto"
    warmup_minutes: float = 0.0

    @property
    def decays_over_minutes(self) -> bool:
        """Whether the learning rate decays over the time budget (not the epochs)."""
        decays = self.lr_schedule in ("cosine", "linear") and self.schedule_over != "epochs"
        return decays and bool(self.max_minutes)

    @classmethod
    def from_config(cls, node: dict[str, Any]) -> TrainerSettings:
        """Parses and checks a plain ``trainer`` mapping."""
        optimizer = str(node["optimizer"]).lower()
        if optimizer not in OPTIMIZERS:
            raise Seq2SeqError(
                f"trainer.optimizer={node['optimizer']!r} is unknown;"
                f" choose one of {list(OPTIMIZERS)}"
            )
        bucket, clip = node.get("bucket_width"), node.get("clipnorm")
        val = node.get("val_decoding") or {}
        return cls(
            epochs=positive("trainer.epochs", node["epochs"]),
            steps_per_epoch=_optional_positive(node, "steps_per_epoch"),
            max_minutes=_optional_positive(node, "max_minutes", float),
            batch_size=positive("trainer.batch_size", node["batch_size"]),
            bucket_width=None if bucket is None else positive("trainer.bucket_width", bucket),
            bucket_by=str(node.get("bucket_by", "source")),
            batch_tokens=_optional_positive(node, "batch_tokens"),
            learning_rate=positive("trainer.learning_rate", node["learning_rate"], float),
            optimizer=optimizer,
            clipnorm=None if clip is None else positive("trainer.clipnorm", clip, float),
            progress_bar=switch("trainer.progress_bar", node.get("progress_bar", True)),
            progress_seconds=non_negative(
                "trainer.progress_seconds", node.get("progress_seconds", 30), float, at_most=86400
            ),
            label_smoothing=fraction("trainer.label_smoothing", node.get("label_smoothing") or 0),
            early_stopping=Watch.from_config("early_stopping", node.get("early_stopping")),
            reduce_lr=Watch.from_config("reduce_lr", node.get("reduce_lr")),
            lr_schedule=node.get("lr_schedule"),
            val_decoding_every=non_negative("trainer.val_decoding.every", val.get("every") or 0),
            val_decoding_samples=non_negative(
                "trainer.val_decoding.num_samples", val.get("num_samples") or 0
            ),
            val_decoding_examples=non_negative(
                "trainer.val_decoding.num_examples", val.get("num_examples") or 0
            ),
            val_decoding_images=non_negative(
                "trainer.val_decoding.num_images", val.get("num_images") or 0
            ),
            resume=switch("trainer.resume", node.get("resume", False)),
            keep_checkpoints=positive("trainer.keep_checkpoints", node["keep_checkpoints"]),
            deterministic=switch("trainer.deterministic", node.get("deterministic", False)),
            jit_compile=switch("trainer.jit_compile", node.get("jit_compile", False)),
            distribute=node.get("distribute"),
            precision=str(node.get("precision", "float32")),
            init_from=_optional_path("trainer.init_from", node.get("init_from")),
            warmup_steps=non_negative("trainer.warmup_steps", node.get("warmup_steps") or 0),
            beta_2=fraction("trainer.beta_2", node.get("beta_2", 0.999)),
            average_last=_optional_positive(node, "average_last"),
            schedule_over=str(node.get("schedule_over", "auto")),
            warmup_minutes=non_negative(
                "trainer.warmup_minutes", node.get("warmup_minutes") or 0, float, at_most=1e6
            ),
        )

    def __post_init__(self) -> None:
        if self.bucket_by not in BUCKET_SIDES:
            raise Seq2SeqError(
                f"trainer.bucket_by={self.bucket_by!r} is unknown;"
                f" choose one of {list(BUCKET_SIDES)}"
            )
        if self.batch_tokens and not self.bucket_width:
            raise Seq2SeqError("trainer.batch_tokens needs trainer.bucket_width (buckets)")
        if self.lr_schedule not in LR_SCHEDULES:
            raise Seq2SeqError(
                f"trainer.lr_schedule={self.lr_schedule!r} is unknown; choose one of"
                f" {list(LR_SCHEDULES)}"
            )
        check_schedule(self.lr_schedule, self.schedule_over, self.max_minutes,
                       self.warmup_steps, self.warmup_minutes)  # fmt: skip
        if self.lr_schedule and self.reduce_lr:
            raise Seq2SeqError(
                f"trainer.lr_schedule={self.lr_schedule} and trainer.reduce_lr both set the"
                " learning rate: add trainer.reduce_lr=null"
            )
        if self.average_last and not 2 <= self.average_last <= self.keep_checkpoints:
            raise Seq2SeqError(
                f"trainer.average_last={self.average_last} needs 2 or more, and at most"
                f" trainer.keep_checkpoints={self.keep_checkpoints} (the checkpoints kept)"
            )
        if self.precision not in PRECISIONS:
            raise Seq2SeqError(
                f"trainer.precision={self.precision!r} is unknown; choose one of {list(PRECISIONS)}"
            )
        if self.distribute not in (None, *STRATEGIES):
            raise Seq2SeqError(
                f"trainer.distribute={self.distribute!r} is unknown; choose null or one of"
                f" {list(STRATEGIES)}"
            )
        self._check_monitors()

    def _check_monitors(self) -> None:
        decoded = [w.monitor for w in (self.early_stopping, self.reduce_lr) if w]
        decoded = [m for m in decoded if m in DECODED_MONITORS]
        if decoded and self.distribute == "multi_worker":
            raise Seq2SeqError(
                f"trainer monitors {decoded[0]}, which only the chief decodes: with"
                " trainer.distribute=multi_worker, monitor val_loss or val_accuracy"
            )
        if decoded and not (self.val_decoding_every and self.val_decoding_samples):
            raise Seq2SeqError(
                f"trainer monitors {decoded[0]}, which needs trainer.val_decoding.every > 0"
                " and trainer.val_decoding.num_samples > 0"
            )


@dataclass(frozen=True)
class TrainSettings:
    """The whole training config, parsed once.

    Attributes:
        output_dir: the run directory.
        seed: seed for weights, dropout and shuffling (None: unseeded).
        data: ``data.*`` as keyword arguments of :func:`seq2seq.data.load_task`.
        vocab_name: the vocabulary kind (``vocab.name``).
        vocab_options: its checked options record.
        model_name: the model family (``model.name``).
        model_options: the family's checked options record.
        trainer: ``trainer.*``.
        decoding: ``decoding.*`` (validation decoding and the test split's translation).
        optimized_metric: the ``metrics.json`` key ``train()`` returns, or None.
        resolved: the resolved config as plain values (for ``config.yaml`` and HParams).
    """

    output_dir: str
    seed: int | None
    data: dict[str, Any]
    vocab_name: str
    vocab_options: Any
    model_name: str
    model_options: Any
    trainer: TrainerSettings
    decoding: DecodingSettings
    optimized_metric: str | None
    resolved: dict[str, Any]

    @classmethod
    def from_config(cls, cfg: DictConfig) -> TrainSettings:
        """Parses and checks a composed training config before any data is loaded."""
        from seq2seq.data import data_options
        from seq2seq.models import model_family
        from seq2seq.vocab import vocab_options

        resolved = plain(cfg)
        seed = optional_seed(resolved.get("seed"))
        model = dict(resolved["model"])
        family = model_family(str(model.pop("name", "lstm")))
        trainer = TrainerSettings.from_config(resolved["trainer"])
        if trainer.deterministic and seed is None:
            raise Seq2SeqError("trainer.deterministic=true needs a seed (seed=<int>)")
        if trainer.distribute == "multi_worker" and seed is None:
            raise Seq2SeqError(
                "trainer.distribute=multi_worker needs a seed (seed=<int>): every worker must"
                " shuffle the data the same way to take its own share of each batch"
            )
        data = dict(resolved["data"])
        data_options(str(data.get("name")), **{k: v for k, v in data.items() if k != "name"})
        options = make_options(family.options, "model", model)
        vocab = dict(resolved.get("vocab") or {"name": "char"})
        vocab_name = str(vocab.pop("name", "char"))
        return cls(
            output_dir=str(resolved["paths"]["output_dir"]),
            seed=seed,
            data=data,
            vocab_name=vocab_name,
            vocab_options=vocab_options(vocab_name, **vocab),
            model_name=family.name,
            model_options=options,
            trainer=trainer,
            decoding=DecodingSettings.from_config(resolved.get("decoding"), seed),
            optimized_metric=resolved.get("optimized_metric") or None,
            resolved=resolved,
        )
