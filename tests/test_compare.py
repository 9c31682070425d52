import json


def test_compare_runs_prints_one_row_per_run_from_its_metrics(trained_run, cli):
    result = cli("compare", str(trained_run))
    assert result.returncode == 0, result.stderr
    header, _rule, row = result.stdout.splitlines()
    assert header.startswith("| run | model | test chrF")
    cells = [c.strip() for c in row.strip("|").split("|")]
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert cells[2] == f"{metrics['test/chrf']:.1f}"
    assert cells[5] == str(metrics["train/epochs"])
    assert "name=lstm" in cells[1] and "units=16" in cells[1]


def test_compare_runs_refuses_an_unfinished_run_in_one_line(tmp_path, cli):
    result = cli("compare", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path} has no metrics.json (did training finish?)\n"
