"""The check catalogue: every kind of check, what it reads, how people and programs name it, and
what runs it. The CLI's commands, the worker's dispatch, the partner API's kinds, the app's
picker, the stored kind and the findings' `raised_by` are all read from here.

Each kind has one module in this package (`checks/catalogue/<kind>.py`) that defines its `SPEC`;
the shipped kinds are the members of `CheckKind`, loaded on first use. A check that is not
shipped (a test's, a plugin's) is one module with a `SPEC`, added with `register(SPEC)` (or
`registered(SPEC)` for as long as a block runs). The sandbox child loads such a module again
from its file, so the check runs there as a shipped one does.

Spec modules stay light: they import their check's code inside `run`, so building the CLI or
validating a request loads no parser, and the sandbox installs its guard before any check is
imported.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.findings import Severity
    from checks.outputs import JUnitCase
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class CheckKind(StrEnum):
    """The kinds of check this platform ships, in the order people are offered them; each has
    its module `checks/catalogue/<value>.py`."""

    TLS = "tls"
    SSH = "ssh"
    CERT = "cert"
    JWKS = "jwks"
    CBOM = "cbom"
    API = "api"


class InputKind(StrEnum):
    """What a check reads, which decides how every front end asks for it."""

    ENDPOINT = "endpoint"  # a live service's host:port
    FILE = "file"  # a file the user supplies
    FILE_OR_URL = "file_or_url"  # a file, or the URL it is published at


@dataclass(frozen=True)
class FindingText:
    """A finding a registered (not shipped) check defines in its own module: what it says, and
    no outcome links; a shipped check's findings, and every link, are in data/findings.yaml."""

    severity: Severity
    title: str
    advice: str


class ResultPart(BaseModel):
    """A part of a typed result (a key, a group, a certificate): frozen, and a key it does not
    name (a field of a newer release) is ignored when a stored run is read."""

    # Built on first use: the command line imports a kind's spec (and so its result types) to
    # build its command, and reads none of them.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)


class CheckResult(ResultPart):
    """What one kind of check saw, typed: its report's `details`, written by the check and read
    back by exports, the CLI and pages instead of reading a dict by string keys. Every field has
    a default, so a run stored before a field existed, or one the sandbox cut short (details
    holding only its `sandbox` cost, which no result names), still reads."""

    def as_details(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# Inside the sandbox child: the order (the check, its input file) and the egress policy.
RunInSandbox = Callable[["ChildOrder", "EgressPolicy"], "CheckReport"]
CbomComponents = Callable[["CheckReport"], list[dict[str, Any]]]
# What a kind adds to the renderers every report has (checks/outputs.py).
ConsoleLines = Callable[["CheckReport"], list[str]]
JUnitCases = Callable[["CheckReport"], list["JUnitCase"]]
SarifProperties = Callable[["CheckReport"], dict[str, Any]]


@dataclass(frozen=True)
class CheckSpec:
    """One kind of check, as every front end, the worker and storage know it."""

    kind: str
    label: str  # what people pick in the app
    summary: str  # one line: the CLI command's help
    input: InputKind
    run: RunInSandbox
    post_quantum: bool  # its score is a post-quantum readiness score
    input_help: str = ""  # the CLI argument's help
    cbom: CbomComponents | None = None  # what it saw, as CycloneDX components
    live: bool = False  # can also test a live service at a base URL (the API check)
    findings: Mapping[str, FindingText] = field(default_factory=dict)
    # Its report's details as a typed model (and so a JSON schema); None while still a dict.
    result: type[CheckResult] | None = None
    console: ConsoleLines | None = None  # extra lines of the CLI's human output
    junit: JUnitCases | None = None  # extra JUnit test cases (the API check's hard gates)
    sarif: SarifProperties | None = None  # extra properties of the SARIF run


class UnknownCheckKind(ValueError):
    pass


SHIPPED = frozenset(kind.value for kind in CheckKind)


@cache
def _shipped_spec(kind: str) -> CheckSpec:
    """One shipped kind's spec, importing its module alone: a sandbox child running one check,
    and `assure check tls`, load no other kind's models."""
    spec: CheckSpec = importlib.import_module(f"{__name__}.{kind}").SPEC
    if spec.kind != kind:
        raise RuntimeError(f"{__name__}.{kind} defines the {spec.kind!r} check")
    return spec


def _shipped() -> dict[str, CheckSpec]:
    return {kind.value: _shipped_spec(kind.value) for kind in CheckKind}


_registered: dict[str, CheckSpec] = {}


def specs() -> tuple[CheckSpec, ...]:
    """Every kind of check: the shipped ones in CheckKind's order, then registered ones."""
    return (*_shipped().values(), *_registered.values())


def kinds(*inputs: InputKind) -> tuple[str, ...]:
    """The kinds of check, or those that read one of `inputs`."""
    return tuple(str(s.kind) for s in specs() if not inputs or s.input in inputs)


def post_quantum_kinds() -> tuple[str, ...]:
    """The kinds whose score is a post-quantum readiness score."""
    return tuple(str(s.kind) for s in specs() if s.post_quantum)


def spec_for(kind: str) -> CheckSpec:
    spec = _shipped_spec(kind) if kind in SHIPPED else _registered.get(kind)
    if spec is None:
        raise UnknownCheckKind(f"no check of kind {kind!r}; the kinds are {', '.join(kinds())}")
    return spec


def register(spec: CheckSpec) -> None:
    """Add a check that is not shipped; its module must define it as `SPEC` and be a file the
    sandbox child can load again (its imports resolvable there: `checks`, `pq_crypto`, ...)."""
    if spec.kind in SHIPPED or spec.kind in _registered:
        raise ValueError(f"a {spec.kind!r} check is already in the catalogue")
    if getattr(sys.modules.get(spec.run.__module__), "SPEC", None) is not spec:
        raise ValueError(f"{spec.run.__module__} must define this check as SPEC")
    _registered[spec.kind] = spec


def unregister(kind: str) -> None:
    _registered.pop(kind, None)


@contextmanager
def registered(spec: CheckSpec) -> Iterator[CheckSpec]:
    """The check is in the catalogue while the block runs."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.kind)


def plugin_file(kind: str) -> str | None:
    """The file of a registered check's module, for the sandbox child to load; None when the
    kind is shipped (the child finds those itself)."""
    if kind in SHIPPED:
        return None
    return sys.modules[spec_for(kind).run.__module__].__file__


def load_plugin(path: str) -> CheckSpec:
    """In the sandbox child: load a registered check's module from its file and register it."""
    name = "assure_check_" + hashlib.sha256(path.encode()).hexdigest()[:16]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise RuntimeError(f"cannot load a check from {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    spec: CheckSpec = module.SPEC
    if spec.kind not in _registered:
        register(spec)
    return spec


@dataclass(frozen=True)
class CatalogueKind:
    """Pydantic metadata for a string field holding a kind of check: it must be in the
    catalogue (and read one of `inputs`, when given), and the JSON schema's enum lists those
    kinds when the schema is generated, so an API document built after a check is registered
    offers it."""

    inputs: tuple[InputKind, ...] = ()

    def allowed(self) -> tuple[str, ...]:
        return kinds(*self.inputs)

    def allows(self, value: str) -> bool:
        """`value in self.allowed()`, loading no spec but the one kind's, and that only to read
        its input when `inputs` narrows the kinds: the finding catalogue names every kind, and a
        TLS run must not load the others' models to read it."""
        if value in SHIPPED:
            if not self.inputs:
                return True
            spec = _shipped_spec(value)
        elif value in _registered:
            spec = _registered[value]
        else:
            return False
        return not self.inputs or spec.input in self.inputs

    def _check(self, value: str) -> str:
        if not self.allows(value):
            allowed = self.allowed()
            raise ValueError(f"not a kind of check here; choose one of {', '.join(allowed)}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.allowed())}


KindName = Annotated[str, CatalogueKind()]
