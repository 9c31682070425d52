"""Parallel sweeps and Optuna searches through Hydra's plugins (the optional ``sweep`` extra:
skipped where it is not installed, failed under CI)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, compose_config, needs_module

SWEEP_EXTRA = 'pip install -e ".[sweep]"'

TINY_JOB = [
    "data.num_samples=200", "model.units=16", "model.embedding_dim=8", "trainer.epochs=1",
    "trainer.progress_bar=false", "trainer.val_decoding.every=0",
]  # fmt: skip


def test_the_optuna_search_composes_with_the_sweeper():
    needs_module("hydra_plugins.hydra_optuna_sweeper", SWEEP_EXTRA)
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "configs")):
        cfg = compose("train", overrides=["hparams_search=optuna"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.direction == "minimize"
    assert set(sweeper.params) == {
        "model.units", "model.embedding_dim", "trainer.learning_rate", "trainer.batch_size"
    }  # fmt: skip
    assert cfg.optimized_metric == "val/loss"
    assert compose_config("train", []).get("hparams_search") is None  # off by default


@pytest.mark.e2e
def test_an_optuna_search_in_parallel_jobs_writes_one_run_directory_per_trial(tmp_path):
    needs_module("hydra_plugins.hydra_optuna_sweeper", SWEEP_EXTRA)
    needs_module("hydra_plugins.hydra_joblib_launcher", SWEEP_EXTRA)
    sweep = tmp_path / "sweep"
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "scripts" / "train.py"), "-m", "hparams_search=optuna",
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={sweep}", *TINY_JOB,
        ],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in done.stdout + done.stderr
    for trial in ("0", "1"):
        assert (sweep / trial / "metrics.json").is_file()
        assert list((sweep / trial / "tensorboard").glob("events.out.tfevents.*"))
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text(encoding="utf-8"))
    assert best["best_params"] and isinstance(best["best_value"], float)
