"""The package's rooms: the library never imports the tasks or the benchmarks, and only the
tasks, the settings records and the command glue read a Hydra config."""

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "seq2seq"
OUTSIDE_THE_LIBRARY = ("tasks", "bench", "configs")
COMMAND_GLUE = {"commands.py", "cli.py", "advice.py"}
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


#: The floors of the package, lowest first: a module imports only modules on its own floor
#: or below (at any depth: an import inside a function counts too). The longest matching
#: prefix names a module's floor; a new module must be placed here.
FLOORS = {
    # 0: leaves and TensorFlow-free records
    "seq2seq.errors": 0, "seq2seq.files": 0, "seq2seq.checks": 0, "seq2seq.registry": 0,
    "seq2seq.extras": 0, "seq2seq.options": 0, "seq2seq.distribute": 0, "seq2seq.data.lines": 0,
    "seq2seq.text": 0, "seq2seq.litert_client": 0,
    # 1: the run directory, vocabularies, data sources and Keras's small parts
    "seq2seq.rundir": 1, "seq2seq.vocab": 1, "seq2seq.data": 1, "seq2seq.layers": 1,
    "seq2seq.losses": 1, "seq2seq.plots": 1, "seq2seq.schedules": 1, "seq2seq.progress": 1,
    # 2: models and the decode loop
    "seq2seq.models": 2, "seq2seq.decoding": 2,
    # 3: what works with a trained model, and the config records
    "seq2seq.translation": 3, "seq2seq.evaluation": 3, "seq2seq.settings": 3,
    "seq2seq.inspection": 3, "seq2seq.export": 3, "seq2seq.averaging": 3,
    "seq2seq.destinations": 3, "seq2seq.callbacks": 3, "seq2seq.compare": 3,
    "seq2seq.lexicon": 3, "seq2seq.litert": 3, "seq2seq.alignment": 3,
    # 4: training and the service
    "seq2seq.training": 4, "seq2seq.api": 4, "seq2seq.serving": 4,
    # 5: the commands
    "seq2seq.tasks": 5, "seq2seq.cli": 5, "seq2seq.advice": 5, "seq2seq.commands": 5,
    "seq2seq.bench": 5, "seq2seq.static": 5, "seq2seq.configs": 5,
}  # fmt: skip


def _module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts).removesuffix(".__init__")] = path
    return names


def floor_of(module: str) -> int | None:
    """The floor of ``module`` by its longest prefix in :data:`FLOORS` (None: unplaced)."""
    found = [p for p in FLOORS if module == p or module.startswith(p + ".")]
    return FLOORS[max(found, key=len)] if found else None


def _imports_of(tree: ast.AST, known: set[str]) -> set[str]:
    """The project modules a module imports; ``from seq2seq import training`` is
    ``seq2seq.training``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "seq2seq")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "seq2seq":
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            found.update(subs or {node.module})
    return found


def test_every_module_has_a_floor():
    assert [m for m in _module_names() if m != "seq2seq" and floor_of(m) is None] == []


def test_no_module_imports_one_on_a_higher_floor():
    names = _module_names()
    upward = {}
    for module, path in names.items():
        if module == "seq2seq":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        mine = floor_of(module)
        above = sorted(m for m in _imports_of(tree, set(names))
                       if m != "seq2seq" and (floor_of(m) or 0) > mine)  # fmt: skip
        if above:
            upward[module] = above
    assert upward == {}


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_no_module_is_over_400_lines():
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in _module_names().items()}
    long = {m: n for m, n in sizes.items() if n > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_over_60_lines():
    long = {}
    for module, path in _module_names().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{module}.{node.name}"] = lines
    assert long == {}


def test_the_floor_check_sees_an_import_inside_a_function_and_a_submodule_import():
    tree = ast.parse("def f():\n    from seq2seq import training\n")
    assert _imports_of(tree, {"seq2seq.training"}) == {"seq2seq.training"}
    assert floor_of("seq2seq.training.loop") == 4 > floor_of("seq2seq.models.composed")
