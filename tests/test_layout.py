"""The package's rooms: the library never imports the tasks or the benchmarks, and only the
tasks, the settings records and the command glue read a Hydra config."""

import ast
from pathlib import Path

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


#: Leaves: file I/O and the line readers import nothing of the project but its error type.
LEAVES = ("files.py", "errors.py", "data/lines.py", "options/__init__.py")


def _project_imports(tree: ast.AST) -> set[str]:
    """The ``seq2seq`` modules a module imports (at any depth: a function's import counts)."""
    return {name for name in _imported(tree) if name.split(".")[0] == "seq2seq"}


def test_the_leaves_import_nothing_of_the_project_but_its_errors():
    modules = dict(_library_modules())
    offenders = {leaf: sorted(_project_imports(modules[Path(leaf)]) - {"seq2seq.errors"})
                 for leaf in LEAVES}  # fmt: skip
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_run_directory_knows_nothing_of_hydra_models_or_vocabularies():
    """``rundir.py`` owns the layout, the lock and the checkpoints; it is told which log file
    the launching process opened (no ``train.log`` in it), the file writers live in
    ``files.py`` and what ``vocab.json`` holds in ``vocab/store.py``."""
    source = (PACKAGE / "rundir.py").read_text(encoding="utf-8")
    assert "train.log" not in source.split('"""', 2)[2]  # the module's code, not its layout text
    imports = _project_imports(ast.parse(source))
    assert imports <= {"seq2seq.errors", "seq2seq.files"}, imports


def import_graph(package: Path) -> dict[str, set[str]]:
    """``module -> the package's modules it imports at module level``."""
    graph = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = ast.Module(body=[n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))],
                         type_ignores=[])  # fmt: skip
        graph[name] = {m for m in _imported(top) if m.split(".")[0] == package.name} - {name}
    return graph


def cycles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: paths from a module back to itself. An edge between a package and
    its own modules (``data/__init__`` importing ``data.anki``) is the package, not a cycle."""

    def related(a: str, b: str) -> bool:
        return a.startswith(b + ".") or b.startswith(a + ".")

    found = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if related(node, nxt):
                    continue
                if nxt == start:
                    found.append(path)
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    return found


def test_no_import_cycle_between_modules_at_import_time():
    assert cycles_in(import_graph(PACKAGE)) == []


def test_the_cycle_finder_finds_cycles_and_ignores_a_package_importing_its_modules():
    assert cycles_in({"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}}) != []
    assert cycles_in({"p.data": {"p.data.x"}, "p.data.x": {"p.data"}}) == []
