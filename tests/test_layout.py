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


def test_every_package_directory_is_in_the_wheel():
    """pyproject.toml lists the packages by hand: a new one missing there is missing from
    the wheel (the installed commands then fail to import it; the e2e install test shows
    that too, this shows it in the default stage)."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(("seq2seq", *init.parent.relative_to(PACKAGE).parts))
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set()
    assert "seq2seq.configs" in listed  # configs/, installed under the package


def test_the_settings_records_import_no_tensorflow():
    """What Hydra's config groups are built from imports no TensorFlow (``--help`` must
    not wait for it): seq2seq.options, seq2seq.data and seq2seq.vocab (but their graph
    modules), checked on their source."""
    heavy = ("tensorflow", "keras", "seq2seq.models", "seq2seq.decoding", "seq2seq.settings",
             "seq2seq.data.pipeline", "seq2seq.vocab.graph")  # fmt: skip
    light = [*PACKAGE.glob("options/*.py"), *PACKAGE.glob("data/*.py"), *PACKAGE.glob("vocab/*.py")]
    allowed = {"data/pipeline.py", "vocab/graph.py"}  # TensorFlow's own, imported on demand
    offenders = {}
    for path in light:
        relative = str(path.relative_to(PACKAGE))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = _imported(ast.Module(body=top, type_ignores=[]))
        bad = sorted(n for n in names if n.startswith(heavy))
        if bad and relative not in allowed:
            offenders[relative] = bad
    assert offenders == {}
