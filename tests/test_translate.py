import io
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from seq2seq.errors import Seq2SeqError
from seq2seq.tasks.translate import translate
from seq2seq.translation import Translator
from seq2seq.vocab.store import read_run_vocab, write_run_vocab
from tests.cli_runner import run_command
from tests.conftest import ROOT, compose_config

INPUTS = ["Nov 28, 2026", "", "le 1er mai 1999", "04.07.1950", "Nov 28, 2026"]


def _cfg(*overrides):
    return compose_config("translate", list(overrides))


def test_translator_returns_one_output_per_input_in_order(trained_run):
    translator = Translator.from_run_dir(trained_run)
    out = translator.translate(INPUTS, batch_size=2)
    assert len(out) == len(INPUTS)
    assert out[1] == ""  # empty input, empty output
    assert out[0] == out[4]  # same input, same output, wherever it sits
    assert out == translator.translate(INPUTS, batch_size=64)


@pytest.mark.parametrize("decoding", [{"decoding": "greedy"}, {"decoding": "beam", "n_best": 3}])
def test_length_sorted_batches_give_the_outputs_of_input_order_batches(trained_run, decoding):
    """Sorting by source length only regroups the batches: every input gets the candidates
    it gets in input-order batches, back in the input order."""
    inputs = ["Nov 28, 2026", "1/2/99", "", "Saturday, the 3rd of May 1902", "4.7.50", "2026"]
    inputs = inputs * 3 + ["1999-12-31", "SAT 3RD MAY 1902"]
    translator = Translator.from_run_dir(trained_run)
    by_length = translator.candidates(inputs, batch_size=4, **decoding)
    in_order = translator.candidates(inputs, batch_size=4, sort_by_length=False, **decoding)
    assert [[c.text for c in cs] for cs in by_length] == [[c.text for c in cs] for cs in in_order]
    for sorted_cs, plain_cs in zip(by_length, in_order, strict=True):
        assert [c.score for c in sorted_cs] == pytest.approx([c.score for c in plain_cs], abs=1e-4)


def test_unknown_characters_are_read_as_unk_with_one_warning(trained_run, caplog):
    translator = Translator.from_run_dir(trained_run)
    with caplog.at_level(logging.WARNING):
        out = translator.translate(["日本語 2026", "ß"])
    warnings = [r for r in caplog.records if "unknown to the model" in r.getMessage()]
    assert len(warnings) == 1 and "'日'" in warnings[0].getMessage()
    # Every unknown character reads as UNK: any other unknown characters translate the same.
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert out == translator.translate(["☃☃☃ 2026", "☂"])
        translator.translate(["日本語 2026", "☂"])  # all named before: no new warning
    warnings = [r.getMessage() for r in caplog.records if "unknown to the model" in r.getMessage()]
    assert len(warnings) == 1 and "'☃'" in warnings[0] and "'日'" not in warnings[0]


def test_translate_inputs_list_to_stdout(trained_run, capsys):
    expected = Translator.from_run_dir(trained_run).translate(INPUTS)
    cfg = _cfg(f"run_dir={trained_run}", f"inputs={list(INPUTS)!r}".replace("'", '"'))
    assert translate(cfg) == expected
    assert capsys.readouterr().out == "".join(o + "\n" for o in expected)


def test_translate_file_to_file_keeps_line_count(trained_run, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(INPUTS) + "\n", encoding="utf-8")
    dst = tmp_path / "out.txt"
    translate(_cfg(f"run_dir={trained_run}", f"input_file={src}", f"output_file={dst}"))
    lines = dst.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(INPUTS)
    assert lines == Translator.from_run_dir(trained_run).translate(INPUTS)
    assert capsys.readouterr().out == ""


def test_translate_reads_stdin_when_no_inputs_are_given(trained_run, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Nov 28, 2026\n04.07.1950\n"))
    out = translate(_cfg(f"run_dir={trained_run}"))
    assert out == Translator.from_run_dir(trained_run).translate(["Nov 28, 2026", "04.07.1950"])
    assert capsys.readouterr().out == "".join(line + "\n" for line in out)


def test_missing_or_incomplete_run_dir_is_a_clear_error(tmp_path):
    with pytest.raises(Seq2SeqError, match="run_dir is required"):
        translate(_cfg())
    with pytest.raises(Seq2SeqError, match="run directory not found"):
        translate(_cfg(f"run_dir={tmp_path / 'nope'}"))
    with pytest.raises(Seq2SeqError, match=r"missing model\.keras, vocab\.json"):
        translate(_cfg(f"run_dir={tmp_path}"))


def test_vocabulary_that_does_not_match_the_model_is_refused(trained_run, tmp_path):
    import shutil

    from seq2seq.rundir import RunDir
    from seq2seq.vocab import Vocabulary

    bad = RunDir(tmp_path / "run")
    shutil.copytree(trained_run, bad.path)
    src, tgt, meta = read_run_vocab(bad)
    write_run_vocab(bad, Vocabulary(src.characters[:-1]), tgt, meta)
    with pytest.raises(
        Seq2SeqError, match=r"source vocabulary has \d+ entries but the model expects"
    ):
        Translator.from_run_dir(bad.path)


def _script(*args, stdin="", cwd=None):
    return run_command("translate", *args, stdin=stdin, cwd=cwd)


def test_script_prints_translations_only_on_stdout(trained_run, tmp_path):
    result = _script(
        f"run_dir={trained_run}", stdin="Nov 28, 2026\n\nle 1er mai 1999\n", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    expected = Translator.from_run_dir(trained_run).translate(
        ["Nov 28, 2026", "", "le 1er mai 1999"]
    )
    assert result.stdout.splitlines() == expected
    assert list(tmp_path.iterdir()) == []  # no log or config files in the launch directory


def test_script_reports_a_missing_run_dir_in_one_line_without_traceback(tmp_path):
    result = _script(f"run_dir={tmp_path / 'missing'}")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"error: run directory not found: {tmp_path / 'missing'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_beam_n_best_prints_index_rank_score_lines(trained_run, capsys):
    cfg = _cfg(
        f"run_dir={trained_run}", "decoding=beam", "decoding.n_best=3", 'inputs=["a 1", "b 2"]'
    )
    best = translate(cfg)
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(int(i), int(r)) for i, r, _, _ in lines] == [(i, r) for i in (0, 1) for r in (1, 2, 3)]
    assert [lines[0][3], lines[3][3]] == best
    scores = [float(s) for _, _, s, _ in lines[:3]]
    assert scores == sorted(scores, reverse=True)


def test_sampling_from_the_cli_is_reproducible_with_seed(trained_run, capsys):
    args = [f"run_dir={trained_run}", "decoding=sample", "decoding.temperature=3.0"]
    a = translate(_cfg(*args, "seed=5", f"inputs={INPUTS!r}".replace("'", '"')))
    b = translate(_cfg(*args, "seed=5", f"inputs={INPUTS!r}".replace("'", '"')))
    assert a == b and len(a) == len(INPUTS)
    greedy = Translator.from_run_dir(trained_run).translate(INPUTS)
    top_1 = translate(_cfg(*args, "decoding.top_k=1", f"inputs={INPUTS!r}".replace("'", '"')))
    assert top_1 == greedy  # sampling among the single best character is greedy decoding


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("decoding.n_best=2", r"decoding\.n_best must be at most 1 for decoding=greedy"),
        ("decoding.max_length=0", r"decoding\.max_length must be a positive integer"),
        ("batch_size=0", r"batch_size must be a positive integer"),
    ],
)
def test_bad_decoding_values_are_refused(trained_run, override, message):
    with pytest.raises(Seq2SeqError, match=message):
        translate(_cfg(f"run_dir={trained_run}", override, 'inputs=["x"]'))


def test_beam_n_best_above_beam_size_is_refused(trained_run):
    cfg = _cfg(
        f"run_dir={trained_run}", "decoding=beam", "decoding.beam_size=2", "decoding.n_best=3"
    )
    with pytest.raises(Seq2SeqError, match=r"decoding\.n_best must be at most 2 for decoding=beam"):
        translate(cfg)


def test_overlong_input_is_cut_with_a_warning(trained_run, caplog):
    translator = Translator.from_run_dir(trained_run)
    with caplog.at_level(logging.WARNING):
        out = translator.translate(["Nov 28, 2026 " * 400, "Nov 28, 2026"])
    assert "1 input(s) longer than" in caplog.text
    cut = ("Nov 28, 2026 " * 400)[: translator.max_input_length]
    assert out == translator.translate([cut.strip(), "Nov 28, 2026"])


def test_script_handles_japanese_empty_and_5000_character_inputs(trained_run):
    result = _script(f"run_dir={trained_run}", stdin="日本語の日付\n\n" + "x" * 5000 + "\n")
    assert result.returncode == 0, result.stderr
    expected = Translator.from_run_dir(trained_run).translate(["日本語の日付", "", "x" * 5000])
    assert result.stdout == "".join(line + "\n" for line in expected)
    assert expected[1] == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\fb\nc\rd\n", ["a\fb", "c\rd"]),
        ("a\r\nb\r\n", ["a", "b"]),
        ("a\nb", ["a", "b"]),
        ("a\u2028b\x85c\n\n", ["a\u2028b\x85c", ""]),
        ("", []),
    ],
)
def test_a_line_ends_at_newline_only(text, lines):
    from seq2seq.text import split_lines

    assert split_lines(text) == lines


def test_one_output_line_per_input_line_whatever_the_line_content(trained_run, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes("Nov 28,\f2026\n1er\rmai 1999\u2028\n".encode())  # two lines by wc -l
    dst = tmp_path / "out.txt"
    translate(_cfg(f"run_dir={trained_run}", f"input_file={src}", f"output_file={dst}"))
    expected = Translator.from_run_dir(trained_run).translate(["Nov 28, 2026", "1er mai 1999"])
    assert dst.read_text(encoding="utf-8") == "".join(line + "\n" for line in expected)


def test_output_file_is_written_through_symlinks_and_special_files(trained_run, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Nov 28, 2026\n", encoding="utf-8")
    real = tmp_path / "real.txt"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    translate(_cfg(f"run_dir={trained_run}", f"input_file={src}", f"output_file={link}"))
    assert link.is_symlink() and link.resolve() == real
    expected = Translator.from_run_dir(trained_run).translate(["Nov 28, 2026"])[0] + "\n"
    assert real.read_text(encoding="utf-8") == expected
    translate(_cfg(f"run_dir={trained_run}", f"input_file={src}", "output_file=/dev/null"))
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_output_file_equal_to_the_input_file_is_refused(trained_run, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Nov 28, 2026\n", encoding="utf-8")
    alias = tmp_path / "alias.txt"
    alias.symlink_to(src)
    for out in (src, alias):
        with pytest.raises(Seq2SeqError, match="is the input file"):
            translate(_cfg(f"run_dir={trained_run}", f"input_file={src}", f"output_file={out}"))
    assert src.read_text(encoding="utf-8") == "Nov 28, 2026\n"


def _pty_translate(trained_run, *args):
    """translate.py with a pseudo-terminal as standard input (a person typing)."""
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "HYDRA_FULL_ERROR": "", "SEQ2SEQ_DEBUG": ""}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "translate.py"), f"run_dir={trained_run}", *args],
        stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(follower)
    return proc, leader


@pytest.mark.e2e
def test_at_a_terminal_each_line_is_translated_as_it_is_entered(trained_run):
    expected = Translator.from_run_dir(trained_run).translate(["Nov 28, 2026", "04.07.1950"])
    proc, leader = _pty_translate(trained_run)
    try:
        os.write(leader, b"Nov 28, 2026\n")
        # The first translation arrives while the program still waits for more input.
        assert proc.stdout.readline().decode() == expected[0] + "\n"
        assert proc.poll() is None
        os.write(leader, b"04.07.1950\n")
        assert proc.stdout.readline().decode() == expected[1] + "\n"
        os.write(leader, b"\x04")  # Ctrl-D
        assert proc.wait(timeout=60) == 0
        assert proc.stdout.read() == b""
        assert proc.stderr.read().decode().count("> ") >= 3  # a prompt before each line
    finally:
        proc.kill()
        os.close(leader)


@pytest.mark.e2e
def test_a_closed_pipe_is_silent_but_not_a_success(trained_run, tmp_path):
    src = tmp_path / "many.txt"
    src.write_text("Nov 28, 2026\n" * 20000, encoding="utf-8")
    script = [sys.executable, str(ROOT / "scripts" / "translate.py"), f"run_dir={trained_run}"]
    shell = f"{' '.join(script)} input_file={src} | head -1; echo status=${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=600)
    out = result.stdout.splitlines()
    assert len(out) == 2 and out[1] == "status=141", result.stdout + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_a_damaged_model_file_is_called_damaged_not_missing(trained_run, tmp_path):
    import shutil

    bad = tmp_path / "run"
    shutil.copytree(trained_run, bad)
    (bad / "model.keras").write_bytes(b"\x00" * 100)
    with pytest.raises(Seq2SeqError, match=r"cannot load model .*not a \.keras zip archive"):
        Translator.from_run_dir(bad)
    (bad / "model.keras").write_bytes((trained_run / "model.keras").read_bytes()[:5000])
    with pytest.raises(Seq2SeqError, match=r"cannot load model"):
        Translator.from_run_dir(bad)


@pytest.mark.parametrize(
    "options",
    [{"attention": "luong"}, {"attention": "bahdanau", "bidirectional": True, "bridge": "dense"},
     {"attention": "luong", "input_feeding": True, "encoder": "conv", "bridge": "dense"}],
    ids=["luong", "bidirectional-bahdanau", "feeding-conv"],
)  # fmt: skip
def test_batched_alignments_equal_each_input_read_alone(options):
    """Inputs of different lengths, padded into one compiled call, get the weights each
    gets alone: padding neither takes attention nor changes the rows."""
    from seq2seq.models import build_model
    from seq2seq.vocab import START_ID, Vocabulary

    chars = list("abc123-")
    model = build_model("lstm", len(chars) + 4, len(chars) + 4, units=8, embedding_dim=4,
                        **options)  # fmt: skip
    translator = Translator(model, Vocabulary(chars), Vocabulary(chars), 12)
    texts, outputs = ["a", "", "abc-123-cab", "12"], ["1", "x", "ab", "c-a-b-c1"]
    found = translator.aligned(texts, outputs)
    assert found[1] is None
    for text, output, got in zip(texts, outputs, found, strict=True):
        if not text:
            continue
        source = np.asarray([translator.source_vocab.encode(text)])
        target_in = np.asarray([[START_ID, *translator.target_vocab.encode(output)]])
        alone = np.asarray(model.alignments(source, target_in))[0]
        assert got.weights.shape == alone.shape == (len(output) + 1, len(text))
        np.testing.assert_allclose(got.weights, alone, atol=1e-5)
        assert got.source_tokens == list(text) and got.output == output
