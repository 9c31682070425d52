"""The README and the docs cannot drift from the commands: every command line they show is
composed by the real command (each key a setting, each config option one that exists), the
refusals they show are refused, and the outputs they show have the real output's form."""

import re
import shlex

import pytest

from seq2seq import commands
from seq2seq.bench.cli import BENCHMARKS
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
#: Shown as mistakes (the docs say what they are answered with): refused, status 2.
REFUSED = {
    "s2s-translate runs/dates",
    "s2s-translate run_dir=x trainer.epoch=1",
    "s2s-train model=nope",
}
#: Commands that take no Hydra overrides.
PLAIN = ("s2s-benchmark", "s2s-compare")


def shown_commands(text: str) -> list[str]:
    """The ``s2s-*`` command lines of a page: in code blocks (after a ``$`` prompt or a
    pipe, continued lines joined, the block's ``NAME="..."`` variables filled in) and in
    inline code."""
    found = []
    for block in FENCE.findall(text):
        variables = dict(re.findall(r'^([A-Z]\w*)="([^"]*)"$', block, re.M))
        for line in block.replace("\\\n", " ").splitlines():
            for name, value in variables.items():
                line = line.replace(f"${name}", value)
            for part in line.strip().removeprefix("$ ").split("|"):
                if part.strip().startswith("s2s-"):
                    found.append(part.strip())
    found += re.findall(r"`(s2s-[^`]+)`", FENCE.sub("", text))
    return [" ".join(c.split()) for c in found]


def arguments(command: str) -> list[str]:
    """The command's arguments as the test runs them: comments, what follows a ``;``,
    ``...`` and shell variables dropped, ``<placeholders>`` filled in, optional
    ``[key=value]`` taken, and a sweep (``-m a=1,2``) reduced to its first job."""
    words = shlex.split(command.split(";")[0], comments=True)[1:]
    sweep = "-m" in words or "--multirun" in words
    kept = []
    for word in words:
        if word.startswith("[") and word.endswith("]"):  # [key=value]: optional
            word = word[1:-1]
        word = re.sub(r"<[^>]*>", "x", word)
        if word in ("...", "-m", "--multirun", "x") or word.startswith("$"):
            continue
        key, eq, value = word.partition("=")
        if value.startswith("$"):  # a loop's variable (decoding=$d): the default then
            continue
        if "$" in value:
            value = "x"
        if sweep and "," in value and not value.startswith(("[", "'", '"')):
            value = value.split(",")[0]
        kept.append(f"{key}{eq}{value}")
    return kept


CASES = sorted(
    {(page.name, command) for page in PAGES for command in shown_commands(page.read_text())}
)


@pytest.fixture(scope="module")
def composer():
    """Hydra's compose on the packaged configs, as every command composes them (composing a
    command line is then ~0.1 s, not a command's start)."""
    from hydra import compose, initialize_config_module

    from seq2seq.cli import register_configs
    from seq2seq.commands import CONFIG_PATH

    register_configs()

    def composed(name: str, overrides: list[str]):
        with initialize_config_module(CONFIG_PATH.removeprefix("pkg://"), version_base="1.3"):
            return compose(name, overrides, return_hydra_config=True)

    return composed


@pytest.mark.parametrize(("page", "command"), CASES)
def test_every_command_shown_is_composed_by_the_real_command(composer, cli, page, command):
    name, args = command.split()[0], arguments(command)
    if command in REFUSED:
        result = cli(name.removeprefix("s2s-"), *args)
        assert result.returncode == 2 and result.stderr.startswith("error: "), result.stderr
        return
    if name.startswith(PLAIN):
        if name == "s2s-benchmark" and args and not args[0].startswith("-"):
            assert args[0] in BENCHMARKS, f"{page}: {command}"
        return
    assert hasattr(commands, name.removeprefix("s2s-").replace("-", "_")), command
    overrides = [a for a in args if not a.startswith("-") and a != "job"]  # --help, --cfg job
    composer(name.removeprefix("s2s-"), overrides)  # raises on an unknown key, group or option


def test_the_pages_show_commands_at_all():
    """The extractor finds the README's tour (a test that checks nothing would pass)."""
    readme = shown_commands((ROOT / "README.md").read_text())
    assert "s2s-train hydra.run.dir=runs/dates" in readme
    assert len(CASES) > 80


def _block_after(text: str, command: str) -> list[str]:
    """The lines a console block shows after ``$ command``, up to the next prompt."""
    start = text.index(f"$ {command}\n") + len(command) + 3
    shown = text[start:].split("```")[0].split("\n$ ")[0]
    return [line for line in shown.splitlines() if line]


def test_the_readmes_n_best_output_has_the_real_outputs_form(cli, trained_run):
    command = ("s2s-translate run_dir=runs/dates \"inputs=['le 1er mai 1999','04.07.1950',"
               "'SAT 3RD MAY 1902']\" decoding=beam decoding.n_best=2")  # fmt: skip
    shown = _block_after((ROOT / "README.md").read_text(), command)
    args = [a.replace("runs/dates", str(trained_run)) for a in shlex.split(command)[1:]]
    real = cli("translate", *args)
    assert real.returncode == 0
    assert shown[0] == "[INFO] translating 3 input(s) with runs/dates (beam)"
    assert real.stderr.splitlines()[-1] == shown[0].replace("runs/dates", str(trained_run))
    form = re.compile(r"^\d+\t[12]\t-?\d+\.\d{4}\t\S+$")
    assert len(shown[1:]) == len(real.stdout.splitlines()) == 6
    assert all(form.match(line) for line in [*shown[1:], *real.stdout.splitlines()])


@pytest.mark.parametrize(
    ("page", "args"),
    [
        ("decoding.md", ["translate", "run_dir=x", "decoding=beam", "decoding.beam=3"]),
        ("reliability.md", ["serve", "run_dir=x"]),
    ],
)
def test_the_error_lines_the_docs_quote_are_the_real_ones(cli, monkeypatch, page, args):
    """Each ``error: ...`` the page quotes (inline, maybe wrapped) is what the command says."""
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # reliability.md quotes the missing extra
    real = cli(*args).stderr.strip().splitlines()[-1]
    text = " ".join((ROOT / "docs" / page).read_text().split())
    assert real.removesuffix("; see --help") in text.replace("`", "")


def test_gitignore_keeps_the_tours_outputs_out_of_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert {"runs/", "outputs/", "exported/", "multirun/"} <= set(ignored)
