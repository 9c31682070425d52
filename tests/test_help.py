"""Every command's --help says what it does, the settings people change, examples, and only
the config groups that command accepts (each listed with every option it has)."""

import subprocess
import sys

import pytest

from tests.conftest import CONFIGS, ROOT

ACCEPTS = {
    "train": [
        "data",
        "decoding",
        "experiment",
        "hparams_search",
        "model",
        "paths",
        "trainer",
        "vocab",
    ],
    "translate": ["decoding"],
    "evaluate": ["decoding"],
    "export": ["decoding"],
    "inspect": [],
    "average": [],
}

SCRIPTS = {"inspect": "inspect_model"}  # the script of each command, where not its name


def _help(command: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / f"{SCRIPTS.get(command, command)}.py"), "--help"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("command", sorted(ACCEPTS))
def test_help_starts_with_the_purpose_and_lists_settings_and_examples(command):
    text = _help(command)
    assert text.startswith(f"s2s-{command}: ")
    assert "Settings (key=value)" in text
    examples = text.split("Examples:\n", 1)[1].split("\n\n", 1)[0].split("\n")
    assert len(examples) >= 3 and all(line.startswith("  ") for line in examples), examples
    listed = {line.split(":")[0].strip() for line in text.split("\n") if line.startswith("  ")}
    for group in sorted(p.name for p in CONFIGS.iterdir() if p.is_dir() and p.name != "hydra"):
        options = ", ".join(sorted(f.stem for f in (CONFIGS / group).glob("*.yaml")))
        if group in ACCEPTS[command]:
            assert f"\n  {group}: {options}\n" in text, group
        else:
            assert group not in listed, group


@pytest.mark.parametrize(
    ("script", "command"), [("compare_runs", "compare"), ("benchmark", "benchmark")]
)
def test_plain_commands_answer_help_with_their_usage(script, command):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / f"{script}.py"), "--help"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.startswith(f"s2s-{command}: ")
    assert f"  s2s-{command} " in result.stdout
