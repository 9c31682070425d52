"""The package's rooms: the library never imports the tasks or the benchmarks, and only the
tasks, the settings records and the command glue read a Hydra config."""

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "seq2seq"
OUTSIDE_THE_LIBRARY = ("tasks", "bench", "configs")
COMMAND_GLUE = {"commands.py", "cli.py"}
CONFIG_READERS = {"settings.py", *COMMAND_GLUE}


def _library_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] not in OUTSIDE_THE_LIBRARY:
            yield relative, ast.parse(path.read_text(encoding="utf-8"))


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_library_never_imports_the_tasks_or_the_benchmarks():
    offenders = {
        str(relative): sorted(
            name for name in _imported(tree) if name.startswith(("seq2seq.tasks", "seq2seq.bench"))
        )
        for relative, tree in _library_modules()
        if str(relative) not in COMMAND_GLUE
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_tasks_and_the_settings_records_read_a_hydra_config():
    readers = {
        str(relative)
        for relative, tree in _library_modules()
        if any(name.startswith(("omegaconf", "hydra")) for name in _imported(tree))
    }
    assert readers <= CONFIG_READERS, readers - CONFIG_READERS
