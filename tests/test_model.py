import keras
import numpy as np
import pytest

from seq2seq.data.pipeline import SOURCE_KEY, TARGET_IN_KEY
from seq2seq.layers import TimeDistributed
from seq2seq.models import build_model, load_model
from seq2seq.models.keras_example import (
    DECODER_LSTM,
    ENCODER_LSTM,
    SOURCE_EMBEDDING,
    TARGET_EMBEDDING,
)
from seq2seq.rundir import RunDir
from seq2seq.vocab import START_ID

SRC_V, TGT_V, UNITS = 12, 9, 8


def _batch(rng, batch=3, src_len=6, tgt_len=5):
    source = rng.integers(4, SRC_V, size=(batch, src_len)).astype("int32")
    target_in = rng.integers(4, TGT_V, size=(batch, tgt_len)).astype("int32")
    target_in[:, 0] = START_ID
    return source, target_in


@pytest.fixture(params=[None, 6], ids=["one-hot", "embedding"])
def model(request):
    keras.utils.set_random_seed(0)
    return build_model("lstm", SRC_V, TGT_V, units=UNITS, embedding_dim=request.param)


def test_shape_of_the_model(model):
    layers = {layer.name: layer for layer in model.training.layers}
    assert layers[ENCODER_LSTM].return_state and not layers[ENCODER_LSTM].return_sequences
    assert layers[DECODER_LSTM].return_sequences and layers[DECODER_LSTM].return_state
    out = layers["output"]
    assert isinstance(out, keras.layers.TimeDistributed)
    assert out.layer.units == TGT_V and out.layer.activation.__name__ == "softmax"
    # The inference models share the training model's layers (the same objects).
    assert model.encoder.get_layer(ENCODER_LSTM) is layers[ENCODER_LSTM]
    assert model.decoder_step.get_layer(DECODER_LSTM) is layers[DECODER_LSTM]


def test_decoder_last_step_output_equals_its_returned_h(model):
    rng = np.random.default_rng(0)
    source, target_in = _batch(rng)
    enc = model.training.get_layer(ENCODER_LSTM)
    dec = model.training.get_layer(DECODER_LSTM)
    _, h, c = enc(model.training.get_layer(SOURCE_EMBEDDING)(source))
    seq, h_dec, _c_dec = dec(
        model.training.get_layer(TARGET_EMBEDDING)(target_in), initial_state=[h, c]
    )
    np.testing.assert_allclose(np.asarray(seq)[:, -1, :], np.asarray(h_dec), rtol=1e-6, atol=1e-6)


def test_encoder_states_reach_the_decoder(model):
    rng = np.random.default_rng(1)
    source, target_in = _batch(rng)
    other_source = source[::-1].copy()
    p1 = model.training.predict({SOURCE_KEY: source, TARGET_IN_KEY: target_in}, verbose=0)
    p2 = model.training.predict({SOURCE_KEY: other_source, TARGET_IN_KEY: target_in}, verbose=0)
    assert not np.allclose(p1, p2)
    # Teacher-forced output equals the decoder-step model run from the encoder's states.
    h, c = model.encoder(source)
    for t in range(target_in.shape[1]):
        token = keras.ops.convert_to_tensor(target_in[:, t : t + 1])
        probs, h, c = model.decoder_step([token, h, c])
        np.testing.assert_allclose(np.asarray(probs)[:, 0], p1[:, t], rtol=1e-5, atol=1e-6)


def test_padding_does_not_change_the_encoder_state(model):
    source = np.array([[5, 6, 7]], "int32")
    padded = np.array([[5, 6, 7, 0, 0, 0]], "int32")
    for a, b in zip(model.encoder(source), model.encoder(padded), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


def test_save_and_load_round_trip_with_safe_mode(model, tmp_path):
    rng = np.random.default_rng(2)
    source, target_in = _batch(rng)
    x = {SOURCE_KEY: source, TARGET_IN_KEY: target_in}
    run = RunDir(tmp_path)
    run.save_model(model.training)
    loaded = load_model(run.model_file)  # safe_mode=True inside
    np.testing.assert_allclose(
        loaded.training.predict(x, verbose=0), model.training.predict(x, verbose=0), rtol=1e-6
    )
    h1, _ = model.encoder(source)
    h2, _ = loaded.encoder(source)
    np.testing.assert_allclose(np.asarray(h1), np.asarray(h2), rtol=1e-6)
    assert not list(tmp_path.glob("*.tmp*"))


def test_loss_and_accuracy_ignore_padding(model):
    rng = np.random.default_rng(3)
    source, target_in = _batch(rng, batch=4, tgt_len=6)
    target_in[:2, 3:] = 0  # two shorter targets, right-padded
    x = {SOURCE_KEY: source, TARGET_IN_KEY: target_in}
    probs = model.training.predict(x, verbose=0)
    labels = probs.argmax(-1).astype("int32")  # right where not overwritten...
    labels[:, ::2] = (labels[:, ::2] + 1) % TGT_V  # ...wrong at even steps
    labels[target_in == 0] = 0  # padding
    mask = target_in != 0
    model.training.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    result = model.training.evaluate(x, labels, verbose=0, return_dict=True)
    ce = -np.log(np.take_along_axis(probs, labels[..., None], -1)[..., 0])
    correct = probs.argmax(-1) == labels
    assert result["loss"] == pytest.approx(ce[mask].mean(), rel=1e-4)
    assert result["accuracy"] == pytest.approx(correct[mask].mean(), rel=1e-4)
    assert correct[mask].mean() != pytest.approx(correct.mean())


def test_time_distributed_matches_per_step_dense_for_any_batch_and_time():
    dense = keras.layers.Dense(4, activation="softmax")
    layer = TimeDistributed(dense)
    for batch, time in ((7, 2), (1, 5), (3, 3)):
        x = np.random.default_rng(batch).normal(size=(batch, time, 3)).astype("float32")
        y = np.asarray(layer(x))
        expected = np.stack([np.asarray(dense(x[:, t])) for t in range(time)], axis=1)
        np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_encode_equals_the_encoder_model_exactly(model):
    rng = np.random.default_rng(3)
    source = rng.integers(4, SRC_V, size=(5, 7)).astype("int32")
    source[1, 4:] = 0  # right padding
    source[2, 1:] = 0
    source[3, :] = 0  # an empty row keeps the zero state
    source[4, 2] = 0  # a masked step inside a row keeps the state through it
    expected = model.encoder(source, training=False)
    for got, want in zip(model.encode(source), expected, strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert not np.asarray(model.encode(source)[0])[3].any()
    # No time steps at all: zero states, not an error.
    h, c = model.encode(np.zeros((2, 0), "int32"))
    assert h.shape == (2, UNITS) and not np.asarray(h).any() and not np.asarray(c).any()


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
@pytest.mark.parametrize("batch", [1, 3, 9, 33])
def test_the_phased_encoder_equals_the_encoder_model_in_any_row_order(model, batch, order):
    """The encoder's phases (each on the last half of the rows, until the rows it leaves
    end) give every row the encoder model's state, whether the batch is sorted by length
    (a long tail: the phases skip steps) or not, with or without XLA."""
    import tensorflow as tf

    rng = np.random.default_rng(batch)
    lengths = np.sort(rng.integers(0, 4, batch)) + np.arange(batch) // 4
    lengths[-1] += 9  # a long last source
    lengths = {"ascending": lengths, "descending": lengths[::-1],
               "shuffled": rng.permutation(lengths)}[order]  # fmt: skip
    source = rng.integers(4, SRC_V, size=(batch, lengths.max() + 2)).astype("int32")
    source[np.arange(source.shape[1]) >= lengths[:, None]] = 0
    want = [np.asarray(x) for x in model.encoder(source, training=False)]
    for got, expected in zip(model.encode(source), want, strict=True):
        np.testing.assert_array_equal(np.asarray(got), expected)
    if order == "ascending":  # the order the phases skip steps in, compiled by XLA
        compiled = tf.function(model.encode, jit_compile=True)(tf.constant(source))
        for got, expected in zip(compiled, want, strict=True):
            np.testing.assert_allclose(np.asarray(got), expected, atol=1e-6)


def test_step_equals_the_decoder_step_model_exactly(model):
    rng = np.random.default_rng(4)
    tokens = rng.integers(0, TGT_V, size=(6,)).astype("int32")
    h = rng.normal(size=(6, UNITS)).astype("float32")
    c = rng.normal(size=(6, UNITS)).astype("float32")
    want = model.decoder_step([tokens[:, None], h, c], training=False)
    probs, state = model.step(tokens, [h, c])
    np.testing.assert_array_equal(np.asarray(probs), np.asarray(want[0])[:, 0])
    for g, w in zip(state, want[1:], strict=True):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
