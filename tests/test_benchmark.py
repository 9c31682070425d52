"""The decode benchmark script runs end to end on a trained run (tiny sizes; no timing claims)."""

import json
from pathlib import Path

import pytest

from seq2seq.bench.decode import benchmark_inputs, run_decode_benchmark
from seq2seq.errors import Seq2SeqError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.e2e  # a benchmark run end to end: the e2e stage, beside the other long runs
def test_benchmark_reports_every_figure_and_identical_outputs(trained_run):
    result = run_decode_benchmark(
        trained_run,
        num_sentences=12,
        textbook_sentences=3,
        batch_sizes=(1, 5),
        batch1_sentences=6,
        repeats=1,
    )
    assert result["identical_outputs"] is True
    assert result["textbook_sentences"] == 3 and result["batch1_sentences"] == 6
    for key in ("textbook_sentences_per_s", "python_loop_sentences_per_s"):
        assert result[key] > 0
    for key in ("sentences_per_s", "chars_per_s", "speedup_vs_textbook", "speedup_vs_python_loop"):
        assert set(result[key]) == {"1", "5"}
    floor = result["arithmetic_floor"]
    assert (
        floor["batch_size"] == 5 and floor["encoder_step_ms"] > 0 and floor["sentences_per_s"] > 0
    )
    for order in ("sorted", "unsorted"):  # C and the floor timed in turn, 5 rounds each
        assert len(floor[f"fractions_per_round_{order}"]) == 5
        assert floor[f"fraction_reached_{order}"] > 0
    assert floor["floor_inputs"]["sentences"] == 8 * 5  # floor_batches batches of the largest
    # The floor counts the loop's steps: for a character run, the characters.
    assert result["mean_source_tokens"] == pytest.approx(result["mean_source_chars"])
    assert result["mean_output_tokens"] == pytest.approx(result["mean_output_chars"])
    json.dumps(result)  # JSON-ready


def test_benchmark_inputs_are_spread_over_the_test_split(trained_run, tmp_path):
    lines = [f"line {i}" for i in range(10)]
    path = tmp_path / "inputs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert benchmark_inputs(trained_run, 5, str(path)) == lines[::2]
    assert benchmark_inputs(trained_run, 12, str(path)) == lines + lines[:2]
    with pytest.raises(Seq2SeqError, match="inputs_file not found"):
        benchmark_inputs(trained_run, 5, str(tmp_path / "missing.txt"))


def test_benchmark_script_rejects_bad_arguments_in_one_line(tmp_path, cli):
    proc = cli("benchmark", "decode", f"run_dir={tmp_path}", "repeats=x", cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "error: repeats must be int, got 'x'"
    assert "Traceback" not in proc.stderr


@pytest.mark.e2e  # a benchmark run end to end: the e2e stage, beside the other long runs
def test_train_benchmark_runs_both_pipelines_from_the_same_weights(tmp_path):
    from seq2seq.bench.train import Setup, run_train_benchmark

    lines = [f"word {i}.\tmot {i} !" for i in range(60)] + ["a much longer sentence.\tun."]
    path = tmp_path / "pairs.txt"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    result = run_train_benchmark(
        path, num_samples=None, rounds=2, setup=Setup(units=8, batch_size=16)
    )
    assert len(result["epoch_seconds"]["textbook"]) == len(result["epoch_seconds"]["ours"]) == 2
    train_targets = result["train_pairs"]
    assert train_targets + result["val_pairs"] == 61
    for key in ("pairs_per_s", "target_chars_per_s", "useful_gflops", "val_masked_loss"):
        assert set(result[key]) == {"textbook", "ours"}
        assert all(v > 0 for v in result[key].values())
    padding = result["padding_fraction_of_decoder_steps"]
    assert 0 <= padding["ours"] <= padding["textbook"] < 1  # per-batch padding is less
    assert result["textbook_array_mb"] > 0 and result["peak_rss_mb"] > 0
    assert result["matmul_ceiling_gflops"]["lstm_step_shape"] > 0


@pytest.mark.e2e  # a benchmark run end to end: the e2e stage, beside the other long runs
def test_time_to_quality_stops_ours_once_it_reaches_the_textbooks_loss(tmp_path):
    from seq2seq.bench.train import Setup, run_time_to_quality

    lines = [f"word {i}.\tmot {i} !" for i in range(60)]
    path = tmp_path / "pairs.txt"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    result = run_time_to_quality(
        path, num_samples=None, textbook_epochs=2, max_epochs=3, setup=Setup(units=8)
    )
    assert len(result["textbook"]["curve"]) == 2
    curve = [e["val_masked_loss"] for e in result["ours"]["curve"]]
    goal = result["goal_val_masked_loss"]
    assert goal == result["textbook"]["curve"][-1]["val_masked_loss"]
    assert all(loss > goal for loss in curve[:-1])  # it stopped at the first epoch that did
    assert result["ours"]["reached"] == (curve[-1] <= goal)
    assert (result["time_to_quality_speedup"] is None) == (not result["ours"]["reached"])


@pytest.mark.e2e
def test_memory_benchmark_trains_streamed_files_of_each_size_in_a_child(tmp_path):
    from seq2seq.bench.memory import run_memory_benchmark, write_synthetic

    source = tmp_path / "pairs.txt"
    source.write_text("".join(f"w{i} x\tm{i} y\n" for i in range(50)), encoding="utf-8")
    copy = tmp_path / "copy.txt"
    write_synthetic(source, 120, copy)
    lines = copy.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 120 and lines[50] == lines[0]
    result = run_memory_benchmark(source, lines=(2100, 4200), steps=2, work_dir=str(tmp_path))
    assert set(result["runs"]) == {"2100", "4200"}
    assert all(r["peak_rss_mb"] > 100 and r["seconds"] > 0 for r in result["runs"].values())
    assert result["peak_rss_ratio_largest_to_smallest"] > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("seq2seq-memory")] == []


@pytest.mark.e2e  # a benchmark run end to end: the e2e stage, beside the other long runs
def test_step_benchmark_times_every_combination_of_the_real_model():
    from seq2seq.bench.cli import main
    from seq2seq.bench.step import run_step_benchmark

    report = run_step_benchmark(
        vocab_sizes=(20, 40), dropout=(0.0, 0.2), source_length=3, target_length=4,
        batch_size=4, units=4, repeats=1,
    )  # fmt: skip
    combos = [(r["vocab_size"], r["dropout"], r["precision"]) for r in report["rows"]]
    assert combos == [(20, 0.0, "float32"), (20, 0.2, "float32"), (40, 0.0, "float32"),
                      (40, 0.2, "float32")]  # fmt: skip
    assert all(r["ms_per_batch"] > 0 and r["pairs_per_second"] > 0 for r in report["rows"])
    with pytest.raises(Seq2SeqError, match="dropout must be comma separated numbers"):
        main(["step", "dropout=a,b"])


@pytest.mark.e2e  # fresh interpreters
def test_startup_benchmark_times_every_case_in_a_fresh_process(cli):
    from seq2seq.bench.startup import CASES, run_startup_benchmark

    report = run_startup_benchmark(repeats=1)
    assert list(report["commands"]) == [name for name, *_ in CASES] and report["cpu"]
    assert all(0 < row["min_s"] <= row["median_s"] <= row["max_s"]
               for row in report["commands"].values())  # fmt: skip
    assert (
        cli("benchmark", "startup", "repeats=x")
        .stderr.strip()
        .endswith("error: repeats must be int, got 'x'")
    )


def test_an_epoch_run_that_ended_before_its_budget_is_the_run_of_larger_budgets():
    from seq2seq.bench.budget import BudgetRun, ended_before_budget

    row = BudgetRun("epochs", 10.0, "r", 8.3, 8, 53.0, 54.4, 34.9, 0.12)
    assert ended_before_budget(row, epochs=8)
    cut = BudgetRun("epochs", 5.0, "r", 5.0, 5, 50.0, 51.0, 30.0, 0.1)
    assert not ended_before_budget(cut, epochs=8)


@pytest.mark.e2e  # trains and evaluates in child processes
def test_budget_benchmark_trains_each_schedule_per_budget_and_draws_the_curve(tmp_path):
    from seq2seq.bench.budget import run_budget_benchmark

    path = tmp_path / "pairs.txt"
    path.write_text("".join(f"word {i}.\tmot {i} !\n" for i in range(80)), encoding="utf-8")
    tiny = ("vocab.size=24 model.units=8 model.embedding_dim=4 model.bidirectional=false"
            " trainer.batch_size=16 trainer.val_decoding.every=0 trainer.precision=float32"
            " data.val_fraction=0.1 data.test_fraction=0.1")  # fmt: skip
    args = dict(budgets=(0.1, 0.2), epochs=2, work_dir=str(tmp_path / "w"), overrides=tiny)
    result = run_budget_benchmark(str(path), **args)
    rows = {(r["schedule"], r["budget_minutes"]): r for r in result["runs"]}
    assert set(rows) == {(s, b) for s in ("minutes", "epochs") for b in (0.1, 0.2)}
    for budget in (0.1, 0.2):  # the minutes schedule runs to its budget
        assert rows["minutes", budget]["train_minutes"] >= budget
        assert rows["minutes", budget]["epochs"] > 2
    assert all(0 <= r["chrf_beam"] <= 100 and 0 <= r["chrf_greedy"] <= 100 for r in rows.values())
    assert Path(result["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = tmp_path / "w" / "minutes-0.1min" / "metrics.json"
    before = metrics.stat().st_mtime_ns
    assert run_budget_benchmark(str(path), **args)["runs"] == result["runs"]  # read, not retrained
    assert metrics.stat().st_mtime_ns == before
