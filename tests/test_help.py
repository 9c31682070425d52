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

SCRIPTS = {"inspect": "inspect_model", "compare": "compare_runs"}  # where not the command's name


@pytest.mark.parametrize("command", sorted(ACCEPTS))
def test_help_starts_with_the_purpose_and_lists_settings_and_examples(command, cli):
    result = cli(command, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
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


@pytest.mark.parametrize("command", ["compare", "benchmark"])
def test_plain_commands_answer_help_with_their_usage(command, cli):
    result = cli(command, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"s2s-{command}: ")
    assert f"  s2s-{command} " in result.stdout


@pytest.mark.parametrize("command", [*sorted(ACCEPTS), "serve", "compare", "benchmark"])
def test_every_script_runs_its_command(command):
    """``python scripts/<name>.py`` is the installed command (tests call the commands)."""
    script = ROOT / "scripts" / f"{SCRIPTS.get(command, command)}.py"
    assert f"from seq2seq.commands import {command}\n" in script.read_text()


#: Runs one console command in a fresh interpreter, then says whether TensorFlow was imported.
_TENSORFLOW_AFTER = """\
import sys
from seq2seq import commands
sys.argv, code = sys.argv[1:], 0
try:
    getattr(commands, sys.argv[0].removeprefix("s2s-"))()
except SystemExit as exc:
    code = exc.code or 0
print(f"exit={code} tensorflow={'tensorflow' in sys.modules}", file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["s2s-train", "--help"],
        ["s2s-translate", "--help"],
        ["s2s-train", "--cfg", "job"],
        ["s2s-train", "model=gru", "decoding=beam", "--cfg", "job"],
        ["s2s-translate", "run_dir=x", "trainer.epoch=1"],
        ["s2s-train", "model=nope"],
        ["s2s-benchmark", "--help"],
        ["s2s-compare", "--help"],
    ],
)
@pytest.mark.e2e  # a fresh interpreter: TensorFlow not imported yet
def test_help_cfg_and_refused_overrides_answer_without_importing_tensorflow(argv, tmp_path):
    """What Hydra answers before a task starts never waits for TensorFlow's start-up."""
    result = subprocess.run(
        [sys.executable, "-c", _TENSORFLOW_AFTER, *argv],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    last = result.stderr.strip().split("\n")[-1]
    assert last.endswith("tensorflow=False"), result.stderr[-2000:]
    refused = "--help" not in argv and "--cfg" not in argv
    assert last.startswith("exit=2" if refused else "exit=0"), result.stderr[-2000:]
    if refused:
        assert result.stderr.startswith("error: "), result.stderr
