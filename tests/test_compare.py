import json
import subprocess
import sys

from tests.conftest import ROOT


def test_compare_runs_prints_one_row_per_run_from_its_metrics(trained_run):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compare_runs.py"), str(trained_run)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    header, _rule, row = result.stdout.splitlines()
    assert header.startswith("| run | model | test chrF")
    cells = [c.strip() for c in row.strip("|").split("|")]
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert cells[2] == f"{metrics['test/chrf']:.1f}"
    assert cells[5] == str(metrics["train/epochs"])
    assert "name=lstm" in cells[1] and "units=16" in cells[1]


def test_compare_runs_refuses_an_unfinished_run_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compare_runs.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path} has no metrics.json (did training finish?)\n"
