"""Lint rules on the contract and the inventory: documented errors, versions, descriptions, and
what a published description should not show (OWASP API8, API9)."""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from checks.api.model import OpenApiView, Operation, pointer
from checks.api.rules_common import (
    Hit,
    operations,
    pattern,
    responses,
    rule,
    status_codes,
    vocabulary,
    words,
)


@rule("API-009")
def client_errors_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        takes_input = operation.parameters or operation.node.get("requestBody")
        if takes_input and not {"400", "422", "4XX"} & status_codes(view, operation):
            yield f"{operation.pointer}/responses", {"operation": operation.label}


@rule("API-010")
def server_errors_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        codes = status_codes(view, operation)
        if not ({"DEFAULT", "5XX"} & codes or any(c.startswith("5") for c in codes)):
            yield f"{operation.pointer}/responses", {"operation": operation.label}


@rule("API-018")
def problem_details(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        for code, response in responses(view, operation).items():
            if code[:1] in {"4", "5"} or code.upper() == "DEFAULT":
                content = response.get("content") or {}
                if content and not any("problem+json" in media for media in content):
                    yield (
                        pointer("paths", operation.path, operation.method, "responses", code),
                        {"operation": operation.label, "status": code},
                    )


def server_url(server: dict[str, Any]) -> str:
    """The URL with each {variable} replaced by its default, as a client would first use it."""
    url = str(server.get("url", ""))
    for name, variable in (server.get("variables") or {}).items():
        if isinstance(variable, dict) and "default" in variable:
            url = url.replace(f"{{{name}}}", str(variable["default"]))
    return url


def _split(url: str) -> tuple[str, str]:
    """(host, path) of a server URL, which may be relative or lack a scheme."""
    absolute = "://" in url or url.startswith(("/", "{"))
    try:
        parts = urlsplit(url if absolute else f"//{url}")
        return (parts.hostname or ""), parts.path
    except ValueError:
        return "", url


def _versioned(path: str) -> bool:
    segment = pattern(vocabulary().versioning.path_segment)
    return any(
        segment.match(part) or (part.startswith("{") and "version" in part.lower())
        for part in path.split("/")
    )


def _versioned_by_request(view: OpenApiView, item: dict[str, Any], listed: list[Operation]) -> bool:
    """A version chosen by a header or query parameter, by the media type, or by a server URL
    given for this path or one of its operations."""
    versioning = vocabulary().versioning
    media = pattern(versioning.media_type)
    for operation in listed:
        for parameter in operation.parameters:
            parts = words(str(parameter.get("name", "")))
            if (
                parameter.get("in") in {"header", "query"}
                and parts
                and parts[-1] in versioning.parameter_last_words
            ):
                return True
        body = view.deref(operation.node.get("requestBody")) or {}
        types = list((body.get("content") or {}) if isinstance(body, dict) else ())
        types += [t for r in responses(view, operation).values() for t in r.get("content") or {}]
        if any(media.search(str(t)) for t in types):
            return True
    nodes = [item, *(o.node for o in listed)]
    return any(
        _versioned(_split(server_url(s))[1])
        for node in nodes
        if isinstance(node, dict)
        for s in node.get("servers") or []
        if isinstance(s, dict)
    )


@rule("API-019")
def versioned(view: OpenApiView) -> Iterator[Hit]:
    servers = [s for s in view.document.get("servers") or [] if isinstance(s, dict)]
    if any(_versioned(_split(server_url(s))[1]) for s in servers):
        return
    by_path: dict[str, list[Operation]] = defaultdict(list)
    for operation in operations(view):
        by_path[operation.path].append(operation)
    for path, item in (view.document.get("paths") or {}).items():
        item = view.deref(item)
        if not isinstance(item, dict) or _versioned(str(path)):
            continue
        if not _versioned_by_request(view, item, by_path.get(path, [])):
            yield pointer("paths", path), {"path": path}


@rule("API-020")
def descriptions(view: OpenApiView) -> Iterator[Hit]:
    if not (view.document.get("info") or {}).get("contact"):
        yield "/info", {"missing": "contact"}
    for operation in operations(view):
        if not (operation.node.get("summary") or operation.node.get("description")):
            yield operation.pointer, {"operation": operation.label, "missing": "summary"}


@rule("API-021")
def operation_ids(view: OpenApiView) -> Iterator[Hit]:
    listed = operations(view)
    counts = Counter(o.node.get("operationId") for o in listed if o.node.get("operationId"))
    for operation in listed:
        identifier = operation.node.get("operationId")
        if not identifier:
            yield operation.pointer, {"operation": operation.label, "problem": "missing"}
        elif counts[identifier] > 1:
            yield (
                f"{operation.pointer}/operationId",
                {
                    "operation": operation.label,
                    "problem": f"{identifier} is used {counts[identifier]} times",
                },
            )


def internal_host(host: str) -> str | None:
    """Why a server host only resolves or routes inside an organisation, if it does."""
    host = host.strip().lower().rstrip(".")
    if not host or "{" in host:
        return None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        for why, flag in (
            ("loopback", address.is_loopback),
            ("link-local", address.is_link_local),
            ("unspecified", address.is_unspecified),
            ("private", address.is_private),
        ):
            if flag:
                return f"{why} address"
        return None
    servers = vocabulary().servers
    if host in servers.internal_hosts:
        return "internal host name"
    if any(host == s or host.endswith(f".{s}") for s in servers.internal_suffixes):
        return "internal domain"
    return "single-label host name" if "." not in host else None


@rule("API-025")
def no_internal_servers(view: OpenApiView) -> Iterator[Hit]:
    for where, server in view.servers():
        url = server_url(server)
        why = internal_host(_split(url)[0])
        if why:
            yield f"{where}/url", {"url": url, "why": why}


@rule("API-029")
def no_internal_operations(view: OpenApiView) -> Iterator[Hit]:
    hidden = set()
    for path, item in (view.document.get("paths") or {}).items():
        item = view.deref(item)
        if isinstance(item, dict) and item.get("x-internal") is True:
            hidden.add(path)
            yield pointer("paths", path), {"path": path}
    for operation in operations(view):
        if operation.node.get("x-internal") is True and operation.path not in hidden:
            yield operation.pointer, {"operation": operation.label}


@rule("API-030")
def production_servers_only(view: OpenApiView) -> Iterator[Hit]:
    environments = vocabulary().servers.environment_words
    for where, server in view.servers():
        url = server_url(server)
        named = set(words(_split(url)[0])) | set(words(str(server.get("description") or "")))
        found = sorted(named & environments)
        if found:
            yield where, {"url": url, "environment": found}


@rule("API-031")
def deprecated_operations(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        if operation.node.get("deprecated") is True:
            yield f"{operation.pointer}/deprecated", {"operation": operation.label}


@rule("API-033")
def has_operations(view: OpenApiView) -> Iterator[Hit]:
    """A description without operations gives the rules nothing to judge: clean is not safe."""
    if not operations(view):
        yield "/paths", {"paths": len(view.document.get("paths") or {})}
