"""The shape of the code (issue 12): no import cycles, the emulator kept apart, small modules.

Imports are read from the source with `ast`, wherever they are: at the top, inside functions
(lazy imports) and under `if TYPE_CHECKING:` alike, since each is a dependency all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ROOT

PACKAGES = ("runs_dbapi", "runs_dialect")
EMULATOR = "runs_dbapi.emulator"
# The one module of the driver that may start the emulator (`connect(emulator=...)`).
EMULATOR_STARTERS = frozenset({"runs_dbapi.embedded"})
MAX_LINES = 500
# Modules at or over MAX_LINES today: none since issue 12 ("one job per module") split the last
# of them (auth's host policy went to hosts.py, the emulator's filter syntax to filter_syntax.py).
# This list can only shrink: nothing is added to it, and an entry that is no longer needed fails
# test_the_oversized_list_only_shrinks until it is taken off.
OVERSIZED_TODAY: frozenset[str] = frozenset()
# Import cycles today, each as the set of modules in it: none (cli.py and shell.py imported
# each other until issue 12 made the command-line client a package). Only shrinks, too.
CYCLES_TODAY: frozenset[frozenset[str]] = frozenset()


def _module_files() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its `__init__.py`)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _module_files()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imported(module: str, tree: ast.AST) -> Iterator[str]:
    """The modules of the packages that `module` imports, anywhere in its source."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module if _is_package(module) else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            for alias in node.names:
                # `from . import cursor` imports a module; `from .rest import RestClient`, a name.
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:
                    yield submodule
                elif base in MODULES:
                    yield base


def _import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[module] = set(_imported(module, tree)) - {module}
    return graph


GRAPH = _import_graph()


def _reachable(start: str) -> set[str]:
    """The modules `start` imports, directly or through others."""
    seen: set[str] = set()
    frontier = [start]
    while frontier:
        module = frontier.pop()
        for imported in GRAPH[module] - seen:
            seen.add(imported)
            frontier.append(imported)
    return seen


REACHABLE = {module: _reachable(module) for module in GRAPH}


def _cycles() -> set[frozenset[str]]:
    """Each set of modules that import one another, directly or not."""
    return {frozenset({module} | {other for other in REACHABLE[module]
                                  if module in REACHABLE[other]})
            for module in GRAPH if module in REACHABLE[module]}


def _chain(cycle: frozenset[str]) -> str:
    """The shortest loop of imports through a cycle's first module, e.g. `a -> b -> a`, to say
    where to cut it."""
    start = min(cycle)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for module in frontier:
            for imported in sorted(GRAPH[module] & cycle):
                if imported == start:
                    chain = [module]
                    while chain[-1] != start:
                        chain.append(previous[chain[-1]])
                    return " -> ".join([*chain[::-1], start])
                if imported not in previous:
                    previous[imported] = module
                    following.append(imported)
        frontier = following
    raise AssertionError(f"no loop through {start}")


def test_the_modules_and_their_imports_are_found() -> None:
    assert {"runs_dbapi", "runs_dbapi.rest", "runs_dbapi.rest.transport",
            "runs_dialect.base"} <= MODULES.keys()
    assert "runs_dbapi.rest" in GRAPH["runs_dbapi.connection"]
    assert "runs_dbapi.rest.transport" in GRAPH["runs_dbapi.rest.resources"]
    assert "runs_dbapi.emulator" in GRAPH["runs_dbapi.embedded"]


def test_no_module_imports_one_that_imports_it_back() -> None:
    new = sorted(_chain(cycle) for cycle in _cycles() - CYCLES_TODAY)
    assert not new, "import cycles:\n" + "\n".join(new)


def test_the_list_of_todays_cycles_only_shrinks() -> None:
    gone = sorted(", ".join(sorted(c)) for c in CYCLES_TODAY if c not in _cycles())
    assert not gone, "cycles that are gone, to take off CYCLES_TODAY: " + "; ".join(gone)


def test_only_the_embedded_starter_imports_the_emulator() -> None:
    def in_emulator(module: str) -> bool:
        return module == EMULATOR or module.startswith(EMULATOR + ".")

    offenders = sorted(
        f"{module} imports {imported}"
        for module, imports in GRAPH.items()
        if module.startswith("runs_dbapi") and not in_emulator(module)
        and module not in EMULATOR_STARTERS
        for imported in imports if in_emulator(imported)
    )
    assert not offenders, "the driver imports the emulator:\n" + "\n".join(offenders)


def _lines(module: str) -> int:
    return len(MODULES[module].read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("module", sorted(set(MODULES) - OVERSIZED_TODAY))
def test_each_module_is_readable_whole(module: str) -> None:
    assert _lines(module) < MAX_LINES, (
        f"{MODULES[module].relative_to(ROOT)} has {_lines(module)} lines: give each job of it a "
        f"module of its own (under {MAX_LINES} lines)"
    )


def test_the_oversized_list_only_shrinks() -> None:
    stale = sorted(m for m in OVERSIZED_TODAY if m not in MODULES or _lines(m) < MAX_LINES)
    assert not stale, "modules to take off OVERSIZED_TODAY (gone or small now): " + \
        ", ".join(stale)
