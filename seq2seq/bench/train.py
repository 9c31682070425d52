"""Training speed: the textbook pipeline against ours, on the identical model and data.

* **textbook**: the Keras ``lstm_seq2seq`` example's design — every pair one-hot encoded into
  dense float32 arrays padded to the longest sentence of the corpus (padding is a real
  symbol that the loss counts), ``fit`` on those arrays with ``categorical_crossentropy``;
* **ours**: the real training path — :func:`seq2seq.data.pipeline.make_dataset` (int ids,
  shuffled, bucketed by source length, padded per batch) into the Keras example's model built by
  :func:`seq2seq.models.build_model`, compiled by :func:`seq2seq.training.compile_model`
  (masked loss).

Both models have the same layers and start from the same weights. Epochs alternate (textbook,
ours, textbook, ...) so that a disturbance of the machine hits both; pairs/s is the median of
the epochs after the first two (which trace and compile the step for new batch shapes).
Afterwards both are scored with the same masked validation loss (real target characters
only). Also reported: target
characters/s, the padding fraction of decoder steps, the textbook arrays' size, the peak RSS,
a matmul ceiling at the LSTM step's shape and at 2048³, and the useful arithmetic rate
(non-padding steps only) as a fraction of that ceiling. Run with
``python scripts/benchmark.py train data_path=../shared/data/fra-eng/fra.txt``.
"""

from __future__ import annotations

import gc
import logging
import resource
import statistics
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import yaml

from seq2seq.data import read_anki, split_pairs
from seq2seq.data.pipeline import make_dataset
from seq2seq.data.splits import Pair
from seq2seq.models import build_model
from seq2seq.models.keras_example import DECODER_LSTM, ENCODER_LSTM, OUTPUT_LAYER
from seq2seq.settings import TrainerSettings
from seq2seq.training import compile_model, dtype_policy
from seq2seq.vocab import END_ID, PAD_ID, START_ID, Vocabulary, pad_batch

log = logging.getLogger(__name__)
# Epochs left out of the medians: the first traces the step; with bucketing, the first few
# see new batch shapes (Keras retraces its train function for them).
WARMUP_EPOCHS = 2
TRAINER_DEFAULTS = resources.files("seq2seq.configs") / "trainer" / "default.yaml"


@dataclass(frozen=True)
class Setup:
    """The benchmark's shared model and optimizer settings (the Keras example's)."""

    units: int = 256
    batch_size: int = 64
    learning_rate: float = 0.001
    bucket_width: int | None = 4
    bucket_by: str = "source"
    jit_compile: bool = False  # ours only: XLA for the training step
    bfloat16: bool = False  # ours only: Keras's mixed_bfloat16 policy (float32 variables)


@dataclass(frozen=True)
class IdArrays:
    """A split as id arrays padded to the corpus's longest sentence."""

    source: np.ndarray  # [N, S]
    target_in: np.ndarray  # [N, T]: START + target
    target_out: np.ndarray  # [N, T]: target + END


def id_arrays(pairs: list[Pair], source: Vocabulary, target: Vocabulary) -> IdArrays:
    """``pairs`` as id arrays, padded (``PAD_ID``) to the longest source / target."""
    src = [source.encode(s) for s, _ in pairs]
    tgt = [target.encode(t) for _, t in pairs]
    return IdArrays(
        np.asarray(pad_batch(src), np.int32),
        np.asarray(pad_batch([[START_ID, *t] for t in tgt]), np.int32),
        np.asarray(pad_batch([[*t, END_ID] for t in tgt]), np.int32),
    )


def one_hot(ids: np.ndarray, depth: int) -> np.ndarray:
    """Dense float32 one-hot vectors, as the textbook builds them (padding is symbol 0)."""
    return np.eye(depth, dtype=np.float32)[ids]


def textbook_model(source_size: int, target_size: int, units: int) -> keras.Model:
    """The Keras example's model on one-hot float inputs (no masking)."""
    encoder_in = keras.Input(shape=(None, source_size), name="encoder_inputs")
    decoder_in = keras.Input(shape=(None, target_size), name="decoder_inputs")
    _, h, c = keras.layers.LSTM(units, return_state=True, name=ENCODER_LSTM)(encoder_in)
    decoder = keras.layers.LSTM(units, return_sequences=True, return_state=True, name=DECODER_LSTM)
    sequence, _, _ = decoder(decoder_in, initial_state=[h, c])
    probs = keras.layers.Dense(target_size, activation="softmax", name=OUTPUT_LAYER)(sequence)
    model = keras.Model([encoder_in, decoder_in], probs, name="textbook")
    return model


def copy_weights(ours: keras.Model, textbook: keras.Model) -> None:
    """Starts the textbook model from our model's weights (same layers, same shapes)."""
    for name in (ENCODER_LSTM, DECODER_LSTM, OUTPUT_LAYER):
        textbook.get_layer(name).set_weights(ours.get_layer(name).get_weights())


def trainer_settings(setup: Setup) -> TrainerSettings:
    """Our trainer settings: the defaults with the example's optimizer and batch size."""
    node = yaml.safe_load(TRAINER_DEFAULTS.read_text(encoding="utf-8"))
    node.update(
        optimizer="rmsprop",
        learning_rate=setup.learning_rate,
        batch_size=setup.batch_size,
        bucket_width=setup.bucket_width,
        bucket_by=setup.bucket_by,
        clipnorm=None,
        early_stopping=None,
        reduce_lr=None,
        jit_compile=setup.jit_compile,
    )
    return TrainerSettings.from_config(node)


def build_ours(sizes: tuple[int, int], setup: Setup) -> Any:
    """The Keras example's model on one-hot inputs, compiled by our training path (in bfloat16 mixed
    precision when ``setup.bfloat16``)."""
    with dtype_policy("mixed_bfloat16" if setup.bfloat16 else "float32"):  # as training does
        ours = build_model("lstm", *sizes, units=setup.units, embedding_dim=None)
    compile_model(ours.training, trainer_settings(setup))
    return ours


def masked_loss(probs: np.ndarray, target_out: np.ndarray) -> float:
    """Mean cross-entropy over real target characters (``PAD_ID`` positions left out)."""
    probs = np.asarray(probs, np.float32)  # bfloat16 under mixed precision
    picked = np.take_along_axis(probs, target_out[..., None], axis=-1)[..., 0]
    mask = target_out != PAD_ID
    return float(-np.log(np.maximum(picked[mask], 1e-12)).mean())


def decoder_padding(dataset: tf.data.Dataset) -> float:
    """The fraction of decoder steps in one epoch of ``dataset`` that are padding."""
    real = total = 0
    for _, labels in dataset:
        real += int(tf.math.count_nonzero(labels))
        total += int(tf.size(labels))
    return 1 - real / total


def matmul_gflops(m: int, k: int, n: int, repeats: int = 50) -> float:
    """The best GFLOP/s of ``[m, k] @ [k, n]`` float32 matmuls (a ceiling for that shape)."""
    a = tf.random.normal([m, k])
    b = tf.random.normal([k, n])

    @tf.function(autograph=False)
    def many():
        def body(i, acc):
            return i + 1, acc + tf.matmul(a, b)

        return tf.while_loop(lambda i, _: i < repeats, body, (0, tf.zeros([m, n])))[1]

    many().numpy()
    best = min(_seconds(lambda: many().numpy()) for _ in range(5))
    return 2 * m * k * n * repeats / best / 1e9


def _seconds(fn) -> float:
    # Collect the previous fit's garbage first: Keras's array pipeline of the other model
    # keeps threads and 100s of MB alive until collected, which slowed the next epoch 2x.
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def training_flops(source_chars: int, target_chars: int, sizes: tuple[int, int], units: int):
    """Useful training FLOPs (forward and backward, about 3× forward) for the real
    characters: LSTM steps of the encoder and decoder plus the output layer."""
    source_size, target_size = sizes
    encoder_step = 2 * (source_size + units) * 4 * units
    decoder_step = 2 * (target_size + units) * 4 * units + 2 * units * target_size
    return 3 * (source_chars * encoder_step + target_chars * decoder_step)


@dataclass
class Bench:
    """Both pipelines on the same pairs, vocabularies and starting weights."""

    splits: Any
    source: Vocabulary
    target: Vocabulary
    ours: Any  # the Seq2SeqModel
    textbook: keras.Model
    train_ids: IdArrays
    arrays: list[np.ndarray]  # the textbook's one-hot inputs
    labels: np.ndarray  # and targets

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.source), len(self.target)

    def dataset(self, setup: Setup, seed: int) -> tf.data.Dataset:
        """Our training dataset (shuffled, bucketed as ``setup`` says)."""
        return make_dataset(
            self.splits.train, self.source, self.target, setup.batch_size, shuffle=True,
            seed=seed, bucket_width=setup.bucket_width, bucket_by=setup.bucket_by,
        )  # fmt: skip

    def fit_textbook(self, batch_size: int) -> float:
        """Seconds of one textbook epoch."""
        kwargs = {"batch_size": batch_size, "shuffle": True, "verbose": 0}
        return _seconds(lambda: self.textbook.fit(self.arrays, self.labels, **kwargs))

    def fit_ours(self, dataset: tf.data.Dataset) -> float:
        """Seconds of one epoch of ours."""
        return _seconds(lambda: self.ours.training.fit(dataset, verbose=0, shuffle=False))


def prepare(
    data_path: str | Path,
    num_samples: int | None,
    val_fraction: float,
    seed: int,
    setup: Setup,
    textbook_learning_rate: float,
) -> Bench:
    """Reads and splits the pairs, builds ours and the textbook from the same weights."""
    pairs = read_anki(data_path, num_samples=num_samples)
    splits = split_pairs(pairs, val_fraction, 0.0, seed)
    source = Vocabulary.build(s for s, _ in splits.train)
    target = Vocabulary.build(t for _, t in splits.train)
    sizes = (len(source), len(target))
    keras.utils.set_random_seed(seed)
    ours = build_ours(sizes, setup)
    textbook = textbook_model(*sizes, setup.units)
    copy_weights(ours.training, textbook)
    textbook.compile(
        optimizer=keras.optimizers.RMSprop(textbook_learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    train_ids = id_arrays(splits.train, source, target)
    arrays = [one_hot(train_ids.source, sizes[0]), one_hot(train_ids.target_in, sizes[1])]
    labels = one_hot(train_ids.target_out, sizes[1])
    return Bench(splits, source, target, ours, textbook, train_ids, arrays, labels)


def run_train_benchmark(
    data_path: str | Path,
    num_samples: int | None = 10000,
    rounds: int = 4,
    val_fraction: float = 0.2,
    seed: int = 0,
    setup: Setup = Setup(),
) -> dict[str, Any]:
    """Trains both pipelines for ``rounds`` alternating epochs; returns the JSON report."""
    bench = prepare(data_path, num_samples, val_fraction, seed, setup, setup.learning_rate)
    dataset = bench.dataset(setup, seed)
    seconds: dict[str, list[float]] = {"textbook": [], "ours": []}
    for round_ in range(rounds):
        log.info("round %d/%d: a textbook epoch, then one of ours", round_ + 1, rounds)
        seconds["textbook"].append(bench.fit_textbook(setup.batch_size))
        seconds["ours"].append(bench.fit_ours(dataset))
    report = _report(bench.splits, bench.sizes, setup, seconds, bench.train_ids)
    report["val_masked_loss"] = {
        "textbook": _val_loss(bench, "textbook"),
        "ours": _val_loss(bench, "ours"),
    }
    report["padding_fraction_of_decoder_steps"]["ours"] = decoder_padding(dataset)
    report["textbook_array_mb"] = sum(a.nbytes for a in (*bench.arrays, bench.labels)) / 2**20
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _val_loss(bench: Bench, which: str) -> float:
    """The masked validation loss of the textbook or of ours, computed the same way."""
    val = id_arrays(bench.splits.val, bench.source, bench.target)
    if which == "textbook":
        inputs = [one_hot(val.source, bench.sizes[0]), one_hot(val.target_in, bench.sizes[1])]
        probs = bench.textbook.predict(inputs, batch_size=256, verbose=0)
    else:
        inputs = {"source": val.source, "target_in": val.target_in}
        probs = bench.ours.training.predict(inputs, batch_size=256, verbose=0)
    return masked_loss(probs, val.target_out)


def _report(splits, sizes, setup, seconds, train_ids) -> dict[str, Any]:
    """Throughput figures from the epoch times (medians of the epochs after the first)."""
    n = len(splits.train)
    source_chars = sum(len(s) for s, _ in splits.train)
    target_chars = sum(len(t) + 1 for _, t in splits.train)  # + END
    steady = {k: statistics.median(v[min(WARMUP_EPOCHS, len(v) - 1) :]) for k, v in seconds.items()}
    flops = training_flops(source_chars, target_chars, sizes, setup.units)
    step_ceiling = matmul_gflops(setup.batch_size, sizes[1] + setup.units, 4 * setup.units)
    big_ceiling = matmul_gflops(2048, 2048, 2048, repeats=5)
    pairs_per_s = {k: n / s for k, s in steady.items()}
    return {
        "train_pairs": n,
        "val_pairs": len(splits.val),
        "vocab_sizes": {"source": sizes[0], "target": sizes[1]},
        "setup": setup.__dict__,
        "epoch_seconds": seconds,
        "pairs_per_s": pairs_per_s,
        "speedup": pairs_per_s["ours"] / pairs_per_s["textbook"],
        "target_chars_per_s": {k: target_chars / s for k, s in steady.items()},
        "padding_fraction_of_decoder_steps": {
            "textbook": 1 - target_chars / train_ids.target_out.size,
        },
        "matmul_ceiling_gflops": {"lstm_step_shape": step_ceiling, "2048^3": big_ceiling},
        "useful_gflops": {k: flops / s / 1e9 for k, s in steady.items()},
        "useful_fraction_of_step_ceiling": {
            k: flops / s / 1e9 / step_ceiling for k, s in steady.items()
        },
        "tensorflow": tf.__version__,
    }


def run_time_to_quality(
    data_path: str | Path,
    num_samples: int | None = 10000,
    textbook_epochs: int = 10,
    max_epochs: int = 30,
    val_fraction: float = 0.2,
    seed: int = 0,
    setup: Setup = Setup(),
) -> dict[str, Any]:
    """Wall time for ours to reach the textbook's masked validation loss after
    ``textbook_epochs`` epochs: the textbook trains as the example does (batch 64, RMSprop
    0.001), ours with ``setup``'s batching and learning rate (the batching is ours to choose;
    the model, its starting weights and the optimizer are the same). Validation is scored
    outside the timed epochs. Returns the JSON report."""
    bench = prepare(data_path, num_samples, val_fraction, seed, setup, 0.001)
    textbook_curve: list[dict[str, float]] = []
    for epoch in range(textbook_epochs):
        textbook_curve.append({"seconds": bench.fit_textbook(64)})
        textbook_curve[-1]["val_masked_loss"] = _val_loss(bench, "textbook")
        log.info("textbook epoch %d: %.1f s, val loss %.4f", epoch + 1,
                 textbook_curve[-1]["seconds"], textbook_curve[-1]["val_masked_loss"])  # fmt: skip
    goal = textbook_curve[-1]["val_masked_loss"]
    dataset = bench.dataset(setup, seed)
    ours_curve: list[dict[str, float]] = []
    while len(ours_curve) < max_epochs:
        ours_curve.append({"seconds": bench.fit_ours(dataset)})
        ours_curve[-1]["val_masked_loss"] = _val_loss(bench, "ours")
        log.info("ours epoch %d: %.1f s, val loss %.4f (goal %.4f)", len(ours_curve),
                 ours_curve[-1]["seconds"], ours_curve[-1]["val_masked_loss"], goal)  # fmt: skip
        if ours_curve[-1]["val_masked_loss"] <= goal:
            break
    reached = ours_curve[-1]["val_masked_loss"] <= goal
    textbook_seconds = sum(e["seconds"] for e in textbook_curve)
    ours_seconds = sum(e["seconds"] for e in ours_curve)
    return {
        "train_pairs": len(bench.splits.train),
        "setup_ours": setup.__dict__,
        "setup_textbook": {"batch_size": 64, "learning_rate": 0.001, "optimizer": "rmsprop"},
        "goal_val_masked_loss": goal,
        "textbook": {
            "epochs": textbook_epochs,
            "seconds": textbook_seconds,
            "curve": textbook_curve,
        },
        "ours": {
            "epochs": len(ours_curve),
            "seconds": ours_seconds,
            "reached": reached,
            "curve": ours_curve,
        },
        "time_to_quality_speedup": textbook_seconds / ours_seconds if reached else None,
        "tensorflow": tf.__version__,
    }
