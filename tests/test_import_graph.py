"""The package's import graph: every trainables module imports, and no curriclip module imports itself back.

The graph is read from the source with ``ast`` (every ``import`` statement, also those
inside functions and ``TYPE_CHECKING`` blocks, since a lazy import is still a dependency);
an edge goes to the module an import names (``from pkg import sub`` names ``pkg.sub``
when ``sub`` is a module).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import curriclip

ROOT = Path(curriclip.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """curriclip module -> the curriclip modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]], within: str = "") -> list[str] | None:
    """One import cycle among the modules whose names start with ``within`` (None: there is none)."""
    nodes = {n for n in graph if n.startswith(within)}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node] & nodes):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(nodes):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_known_edges():
    graph = import_graph()
    assert "curriclip.trainables.trial" in graph["curriclip.trainables.loop"]
    assert "curriclip.trainables.controls" in graph["curriclip.trainables.data"]
    assert "curriclip.trainables.loop" in graph["curriclip.trainables.train_driver"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_trainables():
    assert find_cycle(import_graph(), "curriclip.trainables") is None


def test_no_import_cycle_in_the_package():
    assert find_cycle(import_graph(), "curriclip") is None


def test_controls_do_not_import_the_loop():
    graph = import_graph()
    assert not graph["curriclip.trainables.controls"] & {"curriclip.trainables.loop", "curriclip.trainables.trial"}
    assert "curriclip.trainables.loop" not in graph["curriclip.trainables.parallel"]


@pytest.mark.parametrize(
    "module", sorted(m.name for m in pkgutil.iter_modules(importlib.import_module("curriclip.trainables").__path__))
)
def test_every_trainables_module_imports(module):
    importlib.import_module(f"curriclip.trainables.{module}")


def _package_imports(graph: dict[str, set[str]], package: str) -> set[str]:
    """The curriclip packages (first level below curriclip) that modules of ``package`` import."""
    prefix = f"curriclip.{package}"
    found = set()
    for name, targets in graph.items():
        if name == prefix or name.startswith(prefix + "."):
            found |= {t.split(".")[1] for t in targets if t.count(".") >= 1 and t.split(".")[1] != package}
    return found


#: package -> the packages it must not import: the phases stand side by side on the run directory, the report
#: reads files only, and the libraries a trial is built from know nothing of the layers that drive them.
FORBIDDEN = {
    "search": {"protocol", "reports", "pipeline"},
    "protocol": {"search", "reports", "pipeline"},
    "reports": {"curriculum", "fusion", "taskmap", "trainables", "search", "protocol", "pipeline"},
    "tasks": {"fusion", "trainables", "search", "protocol", "reports", "taskmap"},
    "metrics": {"data", "fusion", "trainables", "search", "protocol", "reports", "taskmap"},
    "data": {"fusion", "trainables", "search", "protocol", "reports", "taskmap", "metrics"},
    "spaces": {"taskmap", "search", "protocol", "reports"},
    "rundir": {"search", "protocol", "reports", "pipeline"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_runs_back_up_a_floor(package):
    assert not _package_imports(import_graph(), package) & FORBIDDEN[package]


def test_the_layer_check_sees_an_upward_import():
    graph = {"curriclip.search.runner": {"curriclip.protocol.confirm"}, "curriclip.protocol.confirm": set()}
    assert _package_imports(graph, "search") == {"protocol"}


def test_no_private_name_is_imported_across_packages():
    """``from curriclip.a.b import _name`` only within package ``a``: private names are not an interface."""
    offenders = []
    for name, path in _modules().items():
        package = name.split(".")[1] if "." in name else ""
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("curriclip.")
                and not node.level
            ):
                target = node.module.split(".")[1]
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private and target != package:
                    offenders.append(f"{name}: from {node.module} import {', '.join(private)}")
    assert not offenders
