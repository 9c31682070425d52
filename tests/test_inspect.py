import keras
import pytest

from seq2seq.inspection import TRAILING_PAD, describe, inspect_input
from seq2seq.models import build_model
from seq2seq.rundir import RunDir
from seq2seq.translation import Translator
from seq2seq.vocab import Vocabulary
from seq2seq.vocab.store import write_run_vocab

CHARS = Vocabulary(list("abcdefghij0123456789 -"))


def _translator(name, **options):
    keras.utils.set_random_seed(0)
    size = len(CHARS)
    model = build_model(name, size, size, units=6, embedding_dim=4, **options)
    return Translator(model, CHARS, CHARS, max_output_length=8)


def test_card_model_last_output_is_h_at_the_last_real_step_and_over_masked_padding():
    found = inspect_input(_translator("lstm"), "abc 12")
    (enc,) = found.encoder
    assert enc.kind == "LSTM" and enc.sequence.shape == (6 + TRAILING_PAD, 6)
    assert set(enc.states) == {"h", "c"}
    assert enc.checks[0].endswith("== final h: yes")
    # Keras 3 repeats the last real output at masked steps (and carries the state over).
    assert "PAD, masked) == final h: yes (masked steps output the last real step's" in enc.checks[1]
    assert found.decoder[0].checks == [
        f"output at the last real step ({len(found.output) + 1}) == final h: yes"
    ]
    assert found.alignment is None


def test_bidirectional_backward_half_ends_at_the_first_step():
    found = inspect_input(
        _translator("gru", bidirectional=True, encoder_layers=2, attention="luong"), "abc"
    )
    assert [t.kind for t in found.encoder] == ["Bidirectional(GRU)"] * 2
    top = found.encoder[-1]
    assert set(top.states) == {"h_forward", "h_backward"} and top.sequence.shape[1] == 12
    assert "h_forward: yes" in top.checks[0]
    assert "h_backward: no" in top.checks[1] and top.checks[2].endswith("h_backward: yes")
    assert found.decoder[0].sequence.shape[1] == 12  # twice as wide as units
    assert found.alignment.shape == (len(found.output) + 1, 3)
    text = describe(found)
    assert "return_sequences output: (1, 6, 12)" in text
    assert "return_state states: h_forward (1, 6), h_backward (1, 6)" in text


def test_script_prints_the_report_and_where_it_wrote_the_pngs(trained_run, tmp_path, cli):
    args = [f"run_dir={trained_run}", "input='Nov 28, 2026'", f"output_dir={tmp_path / 'out'}"]
    result = cli("inspect", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "encoder layer encoder_lstm (LSTM)" in result.stdout
    assert f"wrote {tmp_path / 'out' / 'states.png'}" in result.stdout
    assert (tmp_path / "out" / "states.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [(["input=x"], "run_dir is required"), (["run_dir=/nonexistent", "input=x"], "not found")],
)
def test_script_errors_are_one_line_with_status_2(tmp_path, args, message, cli):
    result = cli("inspect", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_model_without_recurrent_layers_gets_a_one_line_error_with_status_2(tmp_path, cli):
    run = RunDir(tmp_path / "conv_run")
    run.path.mkdir()
    keras.utils.set_random_seed(0)
    model = build_model("lstm", len(CHARS), len(CHARS), units=6, encoder="conv", bridge="dense")
    run.save_model(model.training)
    write_run_vocab(run, CHARS, CHARS, {"max_source_length": 10, "max_target_length": 10})
    result = cli("inspect", f"run_dir={run.path}", "input=abc", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the conv encoder has no recurrent layers to trace (the inspector traces"
        " recurrent encoders only)"
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "options", "states"),
    [("lstm", {}, ["h", "c"]),
     ("lstm", {"bidirectional": True, "bridge": "dense"},
      ["h_forward", "c_forward", "h_backward", "c_backward"])],
)  # fmt: skip
def test_states_png_is_a_labelled_heat_map_per_layer_and_returned_tensor(name, options, states):
    """One row per layer: the return_sequences output (units down, the tokens read across)
    and one column per return_state tensor; c, unbounded, has a colour scale of its own."""
    import matplotlib.pyplot as plt

    from seq2seq.plots import StatesPanel, states_figure

    found = inspect_input(_translator(name, **options), "abc 12")
    panels = [StatesPanel(t.name, t.sequence, ["x"] * len(t.sequence), t.states, t.real_steps)
              for t in [*found.encoder, *found.decoder]]  # fmt: skip
    fig = states_figure(panels)
    try:
        rows = fig.subfigs
        assert len(rows) == 2
        encoder_axes = [ax for ax in rows[0].axes if ax.get_label() != "<colorbar>"]
        assert [ax.get_title() for ax in encoder_axes] == [
            f"{found.encoder[0].name}: return_sequences output",
            *(f"state {s}" for s in states),
        ]
        assert encoder_axes[0].get_xlabel() == "step (the token read)"
        assert encoder_axes[0].get_ylabel().startswith("unit (of ")
        assert (
            encoder_axes[0].get_images()[0].get_array().shape == found.encoder[0].sequence.T.shape
        )
        colorbars = [ax.get_ylabel() for ax in rows[0].axes if ax.get_label() == "<colorbar>"]
        assert colorbars == ["output and h", "cell state c"]
    finally:
        plt.close(fig)
