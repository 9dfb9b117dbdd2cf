"""A read-only view over an OpenAPI document: operations, parameters, $ref resolution."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urldefrag, urljoin

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_REF_HOPS = 50
Tag = TypeVar("Tag")


def pointer(*parts: str | int) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _walk_pointer(document: Any, fragment: str) -> Any:
    node = document
    for token in [t for t in fragment.lstrip("/").split("/") if t != ""]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    node: dict[str, Any]
    parameters: list[dict[str, Any]]

    @property
    def pointer(self) -> str:
        return pointer("paths", self.path, self.method)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


class OpenApiView:
    def __init__(
        self, document: dict[str, Any], remote: dict[str, Any] | None = None, base_uri: str = ""
    ) -> None:
        self.document = document
        self.remote = remote or {}
        self.base_uri = base_uri
        self.unresolved: set[str] = set()

    def deref(self, node: Any) -> Any:
        """Follow $ref chains (local or already-fetched remote); None when unresolvable."""
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            hops += 1
            if hops > MAX_REF_HOPS:
                return None
            reference = node["$ref"]
            url, fragment = urldefrag(urljoin(self.base_uri, reference))
            if reference.startswith("#"):
                node = _walk_pointer(self.document, fragment)
            elif url in self.remote:
                node = _walk_pointer(self.remote[url], fragment)
            else:
                self.unresolved.add(reference)
                return None
        return node

    def operations(self) -> Iterator[Operation]:
        for path, item in (self.document.get("paths") or {}).items():
            item = self.deref(item)
            if not isinstance(item, dict):
                continue
            shared = [self.deref(p) for p in item.get("parameters", []) or []]
            for method in METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                own = [self.deref(p) for p in operation.get("parameters", []) or []]
                names = {(p.get("name"), p.get("in")) for p in own if isinstance(p, dict)}
                merged = [
                    p
                    for p in shared
                    if isinstance(p, dict) and (p.get("name"), p.get("in")) not in names
                ]
                parameters = merged + [p for p in own if isinstance(p, dict)]
                yield Operation(path, method, operation, parameters)

    def security_for(self, operation: Operation) -> list[dict[str, Any]] | None:
        """The effective security requirement: the operation's own, else the document's."""
        if "security" in operation.node:
            return operation.node["security"] or []
        return self.document.get("security")

    def needs_credential(self, operation: Operation) -> bool:
        """Every alternative of its security requirement names a scheme: an empty one (`{}`)
        among them makes the credential optional, and `security: []` makes it public."""
        requirements = self.security_for(operation)
        return bool(requirements) and all(isinstance(r, dict) and r for r in requirements or [])

    def plain_gets(self, secured: bool = True) -> list[Operation]:
        """GET operations with nothing to fill in (no path template, no required parameter, no
        body), secured or public as asked, shortest path first: a "who am I" or a list, what
        the preflight tries an identity on and what discovery lists objects with."""
        found = [
            op
            for op in self.operations()
            if op.method == "get"
            and "{" not in op.path
            and self.needs_credential(op) is secured
            and not any(p.get("required") for p in op.parameters)
            and "requestBody" not in op.node
        ]
        return sorted(found, key=lambda op: len(op.path))

    def schemes(self) -> dict[str, dict[str, Any]]:
        raw = (self.document.get("components") or {}).get("securitySchemes") or {}
        return {name: self.deref(s) or {} for name, s in raw.items()}

    def responses(self, operation: Operation) -> dict[str, Any]:
        responses = operation.node.get("responses") or {}
        return {str(code): self.deref(r) or {} for code, r in responses.items()}

    def request_schemas(self, operation: Operation) -> Iterator[tuple[str, Any]]:
        body = self.deref(operation.node.get("requestBody"))
        if isinstance(body, dict):
            for media, content in (body.get("content") or {}).items():
                if isinstance(content, dict) and "schema" in content:
                    yield (
                        pointer(
                            "paths",
                            operation.path,
                            operation.method,
                            "requestBody",
                            "content",
                            media,
                            "schema",
                        ),
                        content["schema"],
                    )
        for index, parameter in enumerate(operation.parameters):
            if "schema" in parameter:
                yield (f"{operation.pointer}/parameters/{index}/schema", parameter["schema"])

    def walk_schema(self, schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every sub-schema of an input schema, each reached once (cycles are cut)."""
        for location, node, _ in self.walk_schemas([(schema, where, None)]):
            yield location, node

    def walk_schemas(
        self, roots: Iterable[tuple[Any, str, Tag]]
    ) -> Iterator[tuple[str, dict[str, Any], Tag]]:
        """Every sub-schema of many schemas, each reached once across all of them, with the tag
        of the root that reached it first: components shared by many operations are walked once,
        so a rule over every operation's schemas stays linear in the document."""
        seen: set[Any] = set()
        for root, where, tag in roots:
            stack = [(root, where)]
            while stack:
                node, location = stack.pop()
                reference = node.get("$ref") if isinstance(node, dict) else None
                if reference:
                    if reference in seen:
                        continue
                    seen.add(reference)
                    node = self.deref(node)
                    if reference.startswith("#"):
                        location = reference[1:]
                if not isinstance(node, dict) or id(node) in seen:
                    continue
                seen.add(id(node))
                yield location, node, tag
                for key in ("properties", "patternProperties"):
                    for name, child in (node.get(key) or {}).items():
                        stack.append((child, f"{location}/{key}/{name}"))
                for key in ("items", "additionalProperties", "not"):
                    if isinstance(node.get(key), dict):
                        stack.append((node[key], f"{location}/{key}"))
                for key in ("allOf", "anyOf", "oneOf"):
                    for index, child in enumerate(node.get(key) or []):
                        stack.append((child, f"{location}/{key}/{index}"))

    def response_schemas(self, operation: Operation) -> Iterator[tuple[str, Any]]:
        """The schema of every response body an operation documents."""
        for code, response in self.responses(operation).items():
            for media, content in (response.get("content") or {}).items():
                if isinstance(content, dict) and "schema" in content:
                    where = pointer(
                        "paths", operation.path, operation.method, "responses", code, "content"
                    )
                    yield f"{where}{pointer(media, 'schema')}", content["schema"]

    def servers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every server entry: the document's, each path's and each operation's."""
        places: list[tuple[tuple[str | int, ...], Any]] = [((), self.document)]
        for path, item in (self.document.get("paths") or {}).items():
            item = self.deref(item)
            if isinstance(item, dict):
                places.append((("paths", path), item))
                places += [
                    (("paths", path, method), item[method])
                    for method in METHODS
                    if isinstance(item.get(method), dict)
                ]
        for parts, node in places:
            servers = node.get("servers") if isinstance(node, dict) else None
            for index, server in enumerate(servers if isinstance(servers, list) else []):
                if isinstance(server, dict):
                    yield pointer(*parts, "servers", index), server
