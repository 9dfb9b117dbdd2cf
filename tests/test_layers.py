"""The layers hold: read every module's imports and check who may import whom.

kernel is at the bottom; checks, frameworks and pq_crypto stand on it without reaching into the
domain core; the domain holds no Streamlit; and no two parts of the code import each other
round a cycle (each of posture's subpackages and top-level modules counts as one part).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = (
    "kernel",
    "checks",
    "frameworks",
    "pq_crypto",
    "posture",
    "supplier_portal",
    "partner_api",
    "ui",
    "assure_cli",
)
FRONT_ENDS = {"supplier_portal", "partner_api", "ui", "assure_cli"}
# What each lower package may import of the project, besides itself.
MAY_IMPORT = {
    "kernel": set(),
    "pq_crypto": {"kernel"},
    "checks": {"kernel", "pq_crypto"},
    "frameworks": {"kernel", "pq_crypto", "checks"},
}
DOMAIN = ("kernel", "checks", "frameworks", "pq_crypto", "posture", "supplier_portal")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


@cache
def imports() -> dict[str, set[str]]:
    """Each project module, and every module it imports (at any depth of its body)."""
    found: dict[str, set[str]] = {}
    for package in PROJECT:
        for path in (ROOT / package).rglob("*.py"):
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
            found[_module_name(path)] = names
    return found


def _part(module: str) -> str:
    """The unit cycles are counted between: a package, or one of posture's parts."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "posture" and len(parts) > 1 else parts[0]


def _part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, names in imports().items():
        for name in names:
            if name.split(".")[0] in PROJECT and _part(name) != _part(module):
                graph[_part(module)].add(_part(name))
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected parts larger than one (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_lower_layers_import_only_what_is_below_them(package: str) -> None:
    allowed = MAY_IMPORT[package] | {package}
    reaching_up = sorted(
        f"{module} imports {name}"
        for module, names in imports().items()
        if module.split(".")[0] == package
        for name in names
        if name.split(".")[0] in PROJECT and name.split(".")[0] not in allowed
    )
    assert reaching_up == []


def test_the_domain_has_no_streamlit() -> None:
    in_domain = sorted(
        module
        for module, names in imports().items()
        if module.split(".")[0] in DOMAIN and any(n.split(".")[0] == "streamlit" for n in names)
    )
    assert in_domain == []


def test_front_ends_are_not_imported_by_the_domain() -> None:
    reaching_up = sorted(
        f"{module} imports {name}"
        for module, names in imports().items()
        if module.split(".")[0] in {"posture", *MAY_IMPORT}
        for name in names
        if name.split(".")[0] in FRONT_ENDS
    )
    assert reaching_up == []


def test_no_parts_import_each_other_round_a_cycle() -> None:
    assert _cycles(_part_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a graph with jobs and monitoring importing each other."""
    graph = {
        "posture.jobs": {"posture.monitoring", "kernel"},
        "posture.monitoring": {"posture.jobs"},
        "kernel": set(),
    }
    assert _cycles(graph) == [["posture.jobs", "posture.monitoring"]]
