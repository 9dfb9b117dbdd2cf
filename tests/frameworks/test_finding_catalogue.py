"""The check catalogue (checks/data/findings.yaml) is the one place findings are defined and linked
to framework outcomes: every code the checks use is defined there, each definition names exactly
the kinds of check that can raise it, and a link to an outcome a framework lacks is refused."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import checks
from checks.catalogue import CheckKind, kinds, specs
from checks.findings import CATALOGUE_FILE, FindingCatalogue, finding_catalogue
from frameworks.library import validate_library
from frameworks.loader import DATA_ROOT, FrameworkDataError, load_framework_files
from tests.cli import assure

CHECKS_ROOT = Path(checks.__file__).resolve().parent
# The module each kind of check runs: its catalogue spec's, which checks/sandbox/execute.py
# calls (it imports the check's own code).
ENTRY = {str(spec.kind): spec.run.__module__ for spec in specs()}
# The sandbox runs every kind, and can end any of them with a finding of its own.
EVERY_KIND = "checks.sandbox.run"
# Calls whose first argument (or `code=` / `rule_id=`) is a finding code.
CODE_MAKERS = {"finding", "rule_finding", "rule", "CheckFinding", "SshProtocolError"}
# Codes another tool names at run time (schemathesis); findings.yaml links them by family.
EXTERNAL = {("checks.api.check", "failure.code")}


@dataclass
class ModuleCodes:
    codes: set[str] = field(default_factory=set)
    external: bool = False
    unresolved: list[str] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(CHECKS_ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _ancestors(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> Iterator[ast.AST]:
    while node in parents:
        node = parents[node]
        yield node


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _code_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in ("code", "rule_id"):
            return keyword.value
    return call.args[0] if call.args else None


def _resolve(
    argument: ast.expr, tree: ast.Module, parents: dict[ast.AST, ast.AST]
) -> set[str] | None:
    """The codes an argument can hold, or None when this test cannot tell."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return {argument.value}
    if isinstance(argument, ast.Subscript) and isinstance(argument.value, ast.Name):
        # A module-level table of codes, such as the TLS check's ERROR_FINDINGS.
        for statement in tree.body:
            if (
                isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Dict)
                and any(
                    isinstance(t, ast.Name) and t.id == argument.value.id for t in statement.targets
                )
            ):
                return {v.value for v in statement.value.values if isinstance(v, ast.Constant)}
        return None
    if isinstance(argument, ast.Attribute) and argument.attr == "code":
        # `exc.code` of an exception that is itself a code maker (its raises are read).
        for ancestor in _ancestors(argument, parents):
            if (
                isinstance(ancestor, ast.ExceptHandler)
                and isinstance(argument.value, ast.Name)
                and ancestor.name == argument.value.id
                and isinstance(ancestor.type, ast.Name)
                and ancestor.type.id in CODE_MAKERS
            ):
                return set()
        return None
    if isinstance(argument, ast.Name):
        for ancestor in _ancestors(argument, parents):
            if isinstance(ancestor, ast.For) and isinstance(ancestor.target, ast.Tuple):
                first = ancestor.target.elts[0]
                if not (isinstance(first, ast.Name) and first.id == argument.id):
                    continue
                if isinstance(ancestor.iter, ast.Tuple):
                    # for code, happened, detail in (("API-LIVE-003", ...), ...)
                    return {
                        row.elts[0].value
                        for row in ancestor.iter.elts
                        if isinstance(row, ast.Tuple) and isinstance(row.elts[0], ast.Constant)
                    }
                if ast.unparse(ancestor.iter) == "RULES.items()":
                    return set()  # every key of RULES is registered by a rule("...") call
            if isinstance(ancestor, ast.FunctionDef):
                # A code maker passing its own parameter on: its callers are read instead.
                params = {a.arg for a in ancestor.args.args + ancestor.args.kwonlyargs}
                if ancestor.name in CODE_MAKERS | {"__init__"} and argument.id in params:
                    return set()
                return None
    return None


def _scan(path: Path) -> ModuleCodes:
    name = _module_name(path)
    tree = ast.parse(path.read_text("utf-8"))
    parents = _parents(tree)
    found = ModuleCodes()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("checks"):
            found.imports.add(str(node.module))
            found.imports.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.imports.update(a.name for a in node.names if a.name.startswith("checks"))
        elif isinstance(node, ast.Compare) and ast.unparse(node.left).endswith(".code"):
            # Codes compared against, such as `f.code in {"CERT-001", "CERT-003"}`.
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    found.codes.add(sub.value)
        elif isinstance(node, ast.Call) and _callee(node) in CODE_MAKERS:
            argument = _code_argument(node)
            if argument is None:
                continue
            if (name, ast.unparse(argument)) in EXTERNAL:
                found.external = True
                continue
            codes = _resolve(argument, tree, parents)
            if codes is None:
                found.unresolved.append(f"{name}:{node.lineno}: {ast.unparse(argument)}")
            else:
                found.codes |= codes
    return found


@pytest.fixture(scope="module")
def modules() -> dict[str, ModuleCodes]:
    return {_module_name(path): _scan(path) for path in sorted(CHECKS_ROOT.rglob("*.py"))}


def _reachable(modules: dict[str, ModuleCodes], entry: str) -> set[str]:
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen or name not in modules:
            continue
        seen.add(name)
        todo.extend(modules[name].imports)
    # Only the sandbox's own finding: what it imports for one kind is not run for the others.
    return seen | {EVERY_KIND}


def test_every_way_the_checks_make_a_code_is_understood(modules: dict[str, ModuleCodes]) -> None:
    unresolved = [site for found in modules.values() for site in found.unresolved]
    assert unresolved == [], "teach this test how these codes are made"
    assert sum(len(found.codes) for found in modules.values()) > 50


def test_every_code_the_checks_use_is_defined(modules: dict[str, ModuleCodes]) -> None:
    used = {code for found in modules.values() for code in found.codes}
    assert {"CERT-001", "API-016", "API-LIVE-002", "NET-001", "INPUT-LIMIT"} <= used
    assert used - set(finding_catalogue().findings) == set()


def test_the_entry_modules_are_the_ones_the_sandbox_runs() -> None:
    assert {kind: f"checks.catalogue.{kind}" for kind in kinds()} == ENTRY
    assert set(ENTRY) == set(CheckKind)
    execute = (CHECKS_ROOT / "sandbox" / "execute.py").read_text("utf-8")
    assert "spec_for(order.check.kind).run(order, policy)" in execute


def test_each_finding_names_exactly_the_kinds_that_can_raise_it(
    modules: dict[str, ModuleCodes],
) -> None:
    reach = {kind: _reachable(modules, entry) for kind, entry in ENTRY.items()}
    catalogue = finding_catalogue()
    for code, definition in catalogue.findings.items():
        raising = {
            kind for kind, names in reach.items() if any(code in modules[n].codes for n in names)
        }
        assert set(definition.raised_by) == raising, code
    external = {kind for kind, names in reach.items() if any(modules[n].external for n in names)}
    for prefix, family in catalogue.families.items():
        assert set(family.raised_by) == external, prefix


def test_a_tls_check_can_raise_the_certificate_findings() -> None:
    expired = finding_catalogue().findings["CERT-001"]
    assert set(expired.raised_by) == {"tls", "cert"}
    assert "C3.d" in expired.outcomes["ptsbd-1.0"]


def _catalogue_with(tmp_path: Path, code: str, old: str, new: str) -> Path:
    text = CATALOGUE_FILE.read_text("utf-8")
    start = text.index(f"\n  {code}:\n")
    at = text.index(old, start)
    path = tmp_path / "findings.yaml"
    path.write_text(text[:at] + new + text[at + len(old) :], "utf-8")
    return path


def test_a_link_to_an_unknown_outcome_is_refused_when_the_framework_loads(
    tmp_path: Path,
) -> None:
    bad = _catalogue_with(tmp_path, "CERT-001", "[C2.a, C3.d]", "[C2.a, C9.z]")
    folder = DATA_ROOT / "ptsbd"
    with pytest.raises(FrameworkDataError) as refused:
        load_framework_files(folder / "ptsbd-1.0.yaml", folder / "profiles-1.0.yaml", None, bad)
    assert refused.value.path == bad
    assert refused.value.location == "findings.CERT-001.outcomes.ptsbd-1.0"
    assert "unknown outcome C9.z" in refused.value.problem
    library, problems = validate_library(DATA_ROOT, bad)
    assert library is None
    # The framework does not load, so its crosswalks are reported as orphaned after it.
    assert problems[0] == (
        f"{bad} at findings.CERT-001.outcomes.ptsbd-1.0: links to unknown outcome C9.z: "
        "ptsbd 1.0 has no such outcome"
    )


def test_a_link_to_a_framework_version_not_shipped_is_refused(tmp_path: Path) -> None:
    bad = _catalogue_with(tmp_path, "SSH-003", "{ptsbd-1.0: [B2.b, C2.a]}", "{ptsbd-9.0: [B2.b]}")
    library, problems = validate_library(DATA_ROOT, bad)
    assert library is None
    assert problems == [
        f"{bad} at findings.SSH-003.outcomes.ptsbd-9.0: links to ptsbd-9.0, which is not a "
        "shipped framework"
    ]


def test_a_link_in_the_old_list_form_is_refused(tmp_path: Path) -> None:
    bad = _catalogue_with(tmp_path, "CERT-002", "{ptsbd-1.0: [C3.d]}", "[C3.d]")
    problems = validate_library(DATA_ROOT, bad)[1]
    assert any(str(bad) in p and "findings.CERT-002.outcomes" in p for p in problems)


def test_assure_framework_validate_fails_on_a_dead_link(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    bad = _catalogue_with(tmp_path, "CERT-001", "[C2.a, C3.d]", "[C2.a, C9.z]")
    result = assure("framework", "validate", "--findings", str(bad), env=sqlite_env)
    assert result.returncode == 1
    assert "findings.CERT-001.outcomes.ptsbd-1.0" in result.stderr
    assert "unknown outcome C9.z" in result.stderr


def test_the_shipped_catalogue_parses_with_the_framework_reader() -> None:
    assert isinstance(finding_catalogue(), FindingCatalogue)
    library, problems = validate_library()
    assert problems == []
    assert library is not None
    assert CATALOGUE_FILE in library.files
