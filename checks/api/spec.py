"""Load an OpenAPI description safely: size caps, YAML without alias bombs or deep nesting,
Swagger 2.0 named as unsupported, validity checked by openapi-spec-validator, and remote
$refs fetched only through the egress policy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator.validation import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from referencing.exceptions import Unresolvable

from checks.egress import EgressPolicy
from checks.fetch import FetchError, fetch

MAX_SPEC_BYTES = 25 * 1024 * 1024
MAX_ALIASES = 100
MAX_DEPTH = 200
MAX_REMOTE_DOCUMENTS = 20


class SpecError(ValueError):
    """The description cannot be assessed; the message says why."""


@dataclass
class LoadedSpec:
    document: dict[str, Any]
    source: str
    version: str
    size_bytes: int
    raw: bytes
    remote: dict[str, Any] = field(default_factory=dict)
    validity_errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.validity_errors


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents with many aliases (billion-laughs) and deep nesting."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise SpecError(f"more than {MAX_ALIASES} YAML aliases: refused as an alias bomb")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise SpecError(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_document(raw: bytes) -> Any:
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"larger than {MAX_SPEC_BYTES} bytes")
    text = raw.decode("utf-8-sig", errors="strict") if raw else ""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"not valid JSON at line {exc.lineno}: {exc.msg}") from exc
        except RecursionError as exc:
            raise SpecError(f"nested deeper than Python can parse ({exc})") from exc
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML or JSON: {str(exc).splitlines()[0]}") from exc


def _check_depth(document: Any) -> None:
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
            return fetch(source, policy, max_bytes=MAX_SPEC_BYTES)
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
                cache[uri] = parse_document(fetch(uri, policy, max_bytes=MAX_SPEC_BYTES))
            except FetchError as exc:
                raise SpecError(f"remote $ref {uri}: {exc}") from exc
        return cache[uri]

    return handle


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
    cache: dict[str, Any] = {}
    handlers = {
        "http": _remote_handler(policy, cache),
        "https": _remote_handler(policy, cache),
        "file": _refusing_handler,
    }
    base = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    validator_class = type("EgressBoundValidator", (base,), {"resolver_handlers": handlers})
    base_uri = source if source.startswith(("http://", "https://")) else ""
    try:
        validator = validator_class(document, base_uri=base_uri)
        errors = [
            f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message[:300]}"
            for _, e in zip(range(5), validator.iter_errors(), strict=False)
        ]
    except RecursionError:
        errors = ["cyclic or too deeply nested $refs"]
    except Unresolvable as exc:
        cause = exc.__cause__.__cause__ if exc.__cause__ is not None else None
        reason = f": {cause}" if cause is not None else ""
        errors = [f"cannot resolve $ref {exc.ref}{reason}"]
    return LoadedSpec(document, source, version, len(raw), raw, cache, errors)
