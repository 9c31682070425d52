"""The data phase: the task's splits, the vocabularies (new, resumed or those of
``trainer.init_from``'s run) and the batched datasets."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from seq2seq.data import load_task
from seq2seq.data.pipeline import make_dataset
from seq2seq.data.splits import Splits, TrainProfile, profile
from seq2seq.data.stream import changed_error
from seq2seq.errors import Seq2SeqError
from seq2seq.rundir import DATA_FINGERPRINT, MODEL_FILE, VOCAB_FILE, RunDir
from seq2seq.settings import TrainSettings
from seq2seq.vocab import VOCABULARIES, TokenVocabulary, make_vocabularies
from seq2seq.vocab.store import read_run_vocab, write_run_vocab

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Vocabularies:
    """The source and target vocabularies and the longest training lengths."""

    source: TokenVocabulary
    target: TokenVocabulary
    longest_source: int
    longest_target: int


@dataclass(frozen=True)
class Datasets:
    """The batched ``tf.data`` splits (``test`` is None when the task has no test split)."""

    train: tf.data.Dataset
    val: tf.data.Dataset
    test: tf.data.Dataset | None


def load_data(settings: TrainSettings) -> Splits:
    """The task's train / validation / test pairs."""
    options = dict(settings.data)
    name = options.pop("name")
    log.info("loading data %s", name)
    try:
        splits = load_task(name, **options)
    except ValueError as exc:
        raise Seq2SeqError(f"data: {exc}") from None
    if not splits.train or not splits.val:
        raise Seq2SeqError(f"data: need training and validation pairs, got {splits.sizes()}")
    log.info("pairs per split: %s", splits.sizes())
    return splits


def build_vocabularies(
    splits: Splits, run: RunDir, resuming: bool, settings: TrainSettings
) -> Vocabularies:
    """Vocabularies of the training split (or, with ``trainer.init_from``, of the trained
    run it starts from); a resumed run must find the same ones it saved. Nothing is written
    here (:func:`write_vocabularies`, once the launch has passed every check)."""
    train = profile(splits.train)  # streamed: from the scan, without another pass
    source, target = pick_vocabularies(splits, run, resuming, settings, train)
    vocabs = Vocabularies(source, target, train.longest_source, train.longest_target)
    metadata = vocab_metadata(vocabs, splits)
    if resuming:
        saved_source, saved_target, saved = read_run_vocab(run)
        if (saved_source, saved_target) != (vocabs.source, vocabs.target):
            raise Seq2SeqError(
                f"cannot resume {run.path}: its vocab.json does not match the data of this config"
            )
        if saved.get(DATA_FINGERPRINT, metadata.get(DATA_FINGERPRINT)) != metadata.get(
            DATA_FINGERPRINT
        ):
            raise changed_error(splits.train.source.path, "its content differs from the scan")
    log.info("vocabulary sizes: source %d, target %d", len(vocabs.source), len(vocabs.target))
    return vocabs


def vocab_metadata(vocabs: Vocabularies, splits: Splits) -> dict[str, Any]:
    """What ``vocab.json`` keeps beside the vocabularies: the longest training lengths and,
    for a streamed file, its fingerprint."""
    metadata: dict[str, Any] = {
        "max_source_length": vocabs.longest_source,
        "max_target_length": vocabs.longest_target,
    }
    fingerprint = getattr(splits.train, "fingerprint", None)  # a streamed file's
    if fingerprint is not None:
        metadata[DATA_FINGERPRINT] = fingerprint.as_dict()
    return metadata


def write_vocabularies(run: RunDir, vocabs: Vocabularies, splits: Splits) -> None:
    """``vocab.json`` (and ``tokenizer/``) of :func:`build_vocabularies`' vocabularies."""
    write_run_vocab(run, vocabs.source, vocabs.target, metadata=vocab_metadata(vocabs, splits))


def pick_vocabularies(
    splits: Splits, run: RunDir, resuming: bool, settings: TrainSettings, train: TrainProfile
) -> tuple[TokenVocabulary, TokenVocabulary]:
    """Those of ``trainer.init_from``'s run; a resumed run's own trained ones (SentencePiece
    is not trained again); else new ones of ``vocab.*`` built from the training pairs."""
    init_from = settings.trainer.init_from
    if init_from:
        init = RunDir(Path(init_from))
        try:
            init.require(MODEL_FILE, VOCAB_FILE)
        except Seq2SeqError as exc:
            raise Seq2SeqError(f"trainer.init_from: {exc}") from None
        source, target, _ = read_run_vocab(init)
        if source.name != settings.vocab_name:  # config.yaml must say what is trained
            raise Seq2SeqError(
                f"trainer.init_from={init_from} has vocab={source.name}, this run"
                f" vocab={settings.vocab_name}: fine-tuning keeps the vocabulary of the run it"
                f" starts from; set vocab={source.name}"
            )
        report_unseen(splits.train, train, source, target, init_from)
        return source, target
    if resuming and VOCABULARIES.get(settings.vocab_name).kept_on_resume:
        source, target, _ = read_run_vocab(run)
        return source, target
    return make_vocabularies(settings.vocab_name, settings.vocab_options, splits.train, train)


def report_unseen(
    train: Any,
    scanned: TrainProfile,
    source: TokenVocabulary,
    target: TokenVocabulary,
    init_from: str,
) -> None:
    """Warns about the characters of the new training data that the vocabularies of the run
    training starts from lack (they are read as ``<unk>``), with their counts (in memory)
    or as a list (streamed)."""
    for side, vocab, index in (("source", source, 0), ("target", target, 1)):
        chars = scanned.source_chars if index == 0 else scanned.target_chars
        unknown = set(vocab.unknown_characters("".join(sorted(chars))))
        if isinstance(train, list):
            counts = Counter(ch for pair in train for ch in pair[index] if ch in unknown)
        else:  # streamed: the scan's character set, without counts
            counts = Counter({ch: 0 for ch in unknown})
        if counts:
            shown = ", ".join(
                f"{ch!r} ({n})" if n else repr(ch) for ch, n in counts.most_common(10)
            )
            log.warning(
                "%d %s character(s) of the new data are not in the vocabulary of %s and are"
                " read as <unk>: %s%s", len(counts), side, init_from, shown,
                ", ..." if len(counts) > 10 else "",
            )  # fmt: skip


def make_datasets(splits: Splits, vocabs: Vocabularies, settings: TrainSettings) -> Datasets:
    """Batched datasets: shuffled (and length-bucketed) training, plain validation/test."""
    batch_size = settings.trainer.batch_size

    def plain(pairs):
        return make_dataset(pairs, vocabs.source, vocabs.target, batch_size)

    train_ds = make_dataset(
        splits.train,
        vocabs.source,
        vocabs.target,
        batch_size,
        shuffle=True,
        seed=settings.seed,
        bucket_width=settings.trainer.bucket_width,
        bucket_by=settings.trainer.bucket_by,
        batch_tokens=settings.trainer.batch_tokens,
    )
    if settings.trainer.steps_per_epoch:  # epochs of N batches: the pairs cycle endlessly
        train_ds = train_ds.repeat()
    return Datasets(train_ds, plain(splits.val), plain(splits.test) if splits.test else None)
