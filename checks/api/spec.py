"""Load an OpenAPI description safely: size caps, YAML without alias bombs or deep nesting,
Swagger 2.0 named as unsupported, validity checked by openapi-spec-validator, and remote
$refs fetched only through the egress policy."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator.validation import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from referencing.exceptions import Unresolvable

from checks.api.model import METHODS, OpenApiView
from checks.api.phases import FETCH_DEADLINE_SECONDS, VALIDATION_SECONDS
from checks.egress import EgressPolicy
from checks.fetch import FetchError, fetch
from checks.safe_parse import InputRefused, Limits, load_json, load_yaml

MAX_SPEC_BYTES = 25 * 1024 * 1024
MAX_ALIASES = 100
MAX_DEPTH = 200
# Ten bytes a node: real descriptions run 15 to 30 bytes a node (Twilio's, minified, 28), so one at
# the size cap stays under this, while an alias bomb expands by orders of magnitude past it.
MAX_EXPANDED_NODES = MAX_SPEC_BYTES // 10
MAX_REMOTE_DOCUMENTS = 20
# openapi-spec-validator is pure Python and slow on large descriptions (a 20 MB one can take
# minutes): more operations than any genuine API declares are refused before validating, and
# validation itself stops at a wall-clock limit (phases.py). 2,000 operations validate in about
# 4 s here.
MAX_OPERATIONS = 5000


class SpecError(ValueError):
    """The description cannot be assessed; the message says why."""


class SpecLimit(SpecError):
    """The description is past a limit on what checking it may cost (an INPUT-LIMIT finding)."""

    def __init__(self, limit: str, detail: str, value: float) -> None:
        super().__init__(detail)
        self.limit, self.detail, self.value = limit, detail, value


class _ValidationTimedOut(BaseException):
    """BaseException, so no `except Exception` inside the validator can swallow it."""


@dataclass
class LoadedSpec:
    document: dict[str, Any]
    source: str
    version: str
    size_bytes: int
    raw: bytes
    remote: dict[str, Any] = field(default_factory=dict)
    validity_errors: list[str] = field(default_factory=list)
    validation_seconds: float | None = None

    @property
    def valid(self) -> bool:
        return not self.validity_errors

    @property
    def base_uri(self) -> str:
        """What relative $refs resolve against: the URL it was read from, if any."""
        return self.source if self.source.startswith(("http://", "https://")) else ""


def _limits() -> Limits:
    # Built per call so the caps are read as they stand (tests lower MAX_SPEC_BYTES).
    return Limits(
        max_bytes=MAX_SPEC_BYTES,
        max_depth=MAX_DEPTH,
        max_aliases=MAX_ALIASES,
        max_expanded_nodes=MAX_EXPANDED_NODES,
    )


def parse_document(raw: bytes) -> Any:
    """JSON or YAML within the caps; aliases are measured expanded, so nothing built from the
    result (json.dumps, a walk, the validator) can be handed more than the caps allow."""
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"larger than {MAX_SPEC_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig", errors="strict") if raw else ""
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start} cannot be decoded)") from exc
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")):
            try:
                return load_json(text, _limits())
            except json.JSONDecodeError as exc:
                raise SpecError(f"not valid JSON at line {exc.lineno}: {exc.msg}") from exc
        try:
            return load_yaml(text, _limits())
        except yaml.YAMLError as exc:
            raise SpecError(f"not valid YAML or JSON: {str(exc).splitlines()[0]}") from exc
    except InputRefused as exc:
        raise SpecError(str(exc)) from exc


def _check_depth(document: Any) -> None:
    """A second line of defence: parse_document has already bounded the depth, aliases included."""
    stack = [(document, 0)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SpecError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict | list):
            if id(node) in seen:
                continue
            seen.add(id(node))
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def read_source(source: str, policy: EgressPolicy) -> bytes:
    if source.startswith(("http://", "https://")):
        try:
            return fetch(
                source, policy, max_bytes=MAX_SPEC_BYTES, deadline_seconds=FETCH_DEADLINE_SECONDS
            )
        except FetchError as exc:
            raise SpecError(str(exc)) from exc
    try:
        path = Path(source)
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"larger than {MAX_SPEC_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read {source}: {exc.strerror}") from exc


def _remote_handler(policy: EgressPolicy, cache: dict[str, Any]):  # type: ignore[no-untyped-def]
    def handle(uri: str) -> Any:
        if uri not in cache:
            if len(cache) >= MAX_REMOTE_DOCUMENTS:
                raise SpecError(f"more than {MAX_REMOTE_DOCUMENTS} remote documents referenced")
            try:
                raw = fetch(
                    uri, policy, max_bytes=MAX_SPEC_BYTES, deadline_seconds=FETCH_DEADLINE_SECONDS
                )
                cache[uri] = parse_document(raw)
            except FetchError as exc:
                raise SpecError(f"remote $ref {uri}: {exc}") from exc
        return cache[uri]

    return handle


def count_operations(
    document: dict[str, Any], remote: dict[str, Any] | None = None, base_uri: str = ""
) -> int:
    """Operations as schemathesis and the rules will see them: a path item that is a `$ref`
    (to components/pathItems, another path, or a fetched document) counts the operations it
    leads to, once for every path that refers to it, so a small file cannot declare thousands
    of operations through one shared item. Bounded: each path's chain stops at
    model.MAX_REF_HOPS, and the paths are as many as the parse caps allowed."""
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return 0
    view = OpenApiView(document, remote, base_uri)
    items = (view.deref(item) for item in paths.values())
    return sum(sum(1 for m in METHODS if m in item) for item in items if isinstance(item, dict))


def _operation_cap(operations: int) -> None:
    if operations > MAX_OPERATIONS:
        raise SpecLimit(
            "operations",
            f"the description declares {operations} operations, more than the {MAX_OPERATIONS} "
            "checked; split it by area and check each part",
            MAX_OPERATIONS,
        )


@contextmanager
def _wall_clock_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds`: the validator is pure Python, so the signal lands
    between bytecodes. Signals reach only the main thread; elsewhere (a test's worker thread)
    the sandbox's CPU limit is what bounds it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise _ValidationTimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _refusing_handler(uri: str) -> Any:
    raise SpecError(f"$ref to a local file ({uri}) is not followed; bundle the description")


def load_spec(source: str, policy: EgressPolicy) -> LoadedSpec:
    raw = read_source(source, policy)
    document = parse_document(raw)
    if not isinstance(document, dict):
        raise SpecError("the description must be a mapping at the top level")
    _check_depth(document)
    if "swagger" in document:
        raise SpecError(
            f"Swagger {document.get('swagger')} is not supported; convert it to OpenAPI 3 "
            "(for example with swagger2openapi) and check again"
        )
    version = str(document.get("openapi", ""))
    if not version.startswith(("3.0", "3.1")):
        raise SpecError(f"openapi version {version or 'missing'} is not 3.0 or 3.1")
    # Local path-item $refs are counted now, before the slow validator sees them; those into
    # remote documents once the validator has fetched them (below).
    operations = count_operations(document)
    _operation_cap(operations)
    cache: dict[str, Any] = {}
    handlers = {
        "http": _remote_handler(policy, cache),
        "https": _remote_handler(policy, cache),
        "file": _refusing_handler,
    }
    base = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    validator_class = type("EgressBoundValidator", (base,), {"resolver_handlers": handlers})
    base_uri = source if source.startswith(("http://", "https://")) else ""
    started = time.monotonic()
    try:
        with _wall_clock_limit(VALIDATION_SECONDS):
            validator = validator_class(document, base_uri=base_uri)
            errors = [
                f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message[:300]}"
                for _, e in zip(range(5), validator.iter_errors(), strict=False)
            ]
    except _ValidationTimedOut:
        raise SpecLimit(
            "time",
            f"validating the description ({operations} operations, {len(raw)} bytes) did not "
            f"finish within {VALIDATION_SECONDS:g}s",
            VALIDATION_SECONDS,
        ) from None
    except RecursionError:
        errors = ["cyclic or too deeply nested $refs"]
    except Unresolvable as exc:
        cause = exc.__cause__.__cause__ if exc.__cause__ is not None else None
        reason = f": {cause}" if cause is not None else ""
        errors = [f"cannot resolve $ref {exc.ref}{reason}"]
    seconds = round(time.monotonic() - started, 3)
    _operation_cap(count_operations(document, cache, base_uri))
    return LoadedSpec(document, source, version, len(raw), raw, cache, errors, seconds)
