"""Lint rules on authentication and authorisation: transport, schemes, who may call what, and
secrets that leave by the URL or the response (OWASP API1, API2, API3, API5, API8)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from checks.api.model import OpenApiView, pointer
from checks.api.rules_common import (
    READ_METHODS,
    WRITE_METHODS,
    Hit,
    names_credential,
    operations,
    pattern,
    properties_of,
    response_schemas,
    rule,
    status_codes,
    types_of,
    vocabulary,
    words,
)

ADMIN_PATH = re.compile(r"(^|/)(admin|administration|manage|internal)(/|$)", re.IGNORECASE)


@rule("API-001")
def https_only(view: OpenApiView) -> Iterator[Hit]:
    for index, server in enumerate(view.document.get("servers") or []):
        url = str((server or {}).get("url", ""))
        if url.lower().startswith("http://"):
            yield pointer("servers", index, "url"), {"url": url}


@rule("API-002")
def schemes_defined(view: OpenApiView) -> Iterator[Hit]:
    if not view.schemes() and any(True for _ in operations(view)):
        yield "/components/securitySchemes", {}


@rule("API-003")
def security_applied(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        if view.security_for(operation) is None:
            yield operation.pointer, {"operation": operation.label}


def _described_as_cursor(description: str) -> bool:
    """A bare `token` that pages rather than authenticates says so in its description, and does
    not also call itself a credential (names such as page_token never read as secrets)."""
    paging = vocabulary().paging
    return bool(
        pattern(paging.description).search(description)
        and not pattern(paging.credential_description).search(description)
    )


@rule("API-004")
def credentials_in_url(view: OpenApiView) -> Iterator[Hit]:
    for name, scheme in view.schemes().items():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "query":
            yield pointer("components", "securitySchemes", name), {"scheme": name}
    for operation in operations(view):
        for index, parameter in enumerate(operation.parameters):
            name = str(parameter.get("name"))
            description = str(parameter.get("description") or "")
            if (
                parameter.get("in") == "query"
                and names_credential(name, in_query=True)
                and not _described_as_cursor(description)
            ):
                yield (
                    f"{operation.pointer}/parameters/{index}",
                    {"operation": operation.label, "parameter": parameter.get("name")},
                )


@rule("API-005")
def no_basic(view: OpenApiView) -> Iterator[Hit]:
    for name, scheme in view.schemes().items():
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            yield pointer("components", "securitySchemes", name), {"scheme": name}


@rule("API-006")
def token_hygiene(view: OpenApiView) -> Iterator[Hit]:
    for name, scheme in view.schemes().items():
        where = pointer("components", "securitySchemes", name)
        if (
            scheme.get("type") == "http"
            and str(scheme.get("scheme", "")).lower() == "bearer"
            and not scheme.get("bearerFormat")
        ):
            yield where, {"scheme": name, "problem": "bearerFormat not stated"}
        flows = scheme.get("flows") or {}
        for weak in ("implicit", "password"):
            if weak in flows:
                yield f"{where}/flows/{weak}", {"scheme": name, "problem": f"OAuth 2 {weak} flow"}


@rule("API-007")
def auth_errors_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        if view.security_for(operation):
            codes = status_codes(view, operation)
            missing = {"401", "403"} - codes - ({"401", "403"} if "4XX" in codes else set())
            if missing:
                yield (
                    f"{operation.pointer}/responses",
                    {"operation": operation.label, "missing": sorted(missing)},
                )


@rule("API-016")
def admin_security(view: OpenApiView) -> Iterator[Hit]:
    listed = operations(view)
    ordinary = {repr(view.security_for(o)) for o in listed if not ADMIN_PATH.search(o.path)}
    for operation in listed:
        if ADMIN_PATH.search(operation.path) and repr(view.security_for(operation)) in ordinary:
            yield operation.pointer, {"operation": operation.label}


@rule("API-017")
def numeric_ids(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        for index, parameter in enumerate(operation.parameters):
            schema = view.deref(parameter.get("schema")) or {}
            if (
                parameter.get("in") == "path"
                and str(parameter.get("name", "")).lower().endswith("id")
                and types_of(schema) & {"integer", "number"}
            ):
                yield (
                    f"{operation.pointer}/parameters/{index}",
                    {"operation": operation.label, "parameter": parameter.get("name")},
                )


@rule("API-023")
def writes_as_protected_as_reads(view: OpenApiView) -> Iterator[Hit]:
    """`security: []` at the top switches authentication off for every operation that does not
    name its own; a write left open while reads need a credential is the classic slip. A write
    that declares its own `security: []` and is named as a way in (a login, token or sign-up
    operation: `public_writes` in api_lint_vocabulary.yaml) was made public on purpose."""
    top = view.document.get("security")
    listed = operations(view)
    inheriting = [o for o in listed if "security" not in o.node]
    if (
        isinstance(top, list)
        and not (top and all(isinstance(r, dict) and r for r in top))
        and inheriting
    ):
        yield "/security", {"problem": "the document's default security needs no credential"}
    if not any(o.method in READ_METHODS and view.needs_credential(o) for o in listed):
        return
    way_in = set(vocabulary().public_writes.words)
    for operation in listed:
        named = set(words(operation.path)) | set(words(str(operation.node.get("operationId", ""))))
        deliberate = operation not in inheriting and bool(way_in & named)
        if (
            not deliberate
            and operation.method in WRITE_METHODS
            and not view.needs_credential(operation)
        ):
            yield (
                operation.pointer,
                {
                    "operation": operation.label,
                    "problem": "a write needs no credential where reads do",
                },
            )


@rule("API-026")
def no_secrets_in_responses(view: OpenApiView) -> Iterator[Hit]:
    """A property named like a secret in a response: a password, key or token the API hands back
    after it was set. Booleans (`has_password`) and cursors (`next_page_token`) are not secrets."""
    for location, node, label in response_schemas(view):
        for name, child in properties_of(view, node):
            # A writeOnly property (a password set through a shared schema) is never returned.
            if (
                names_credential(name)
                and not child.get("writeOnly")
                and not types_of(child) - {"string", "null"}
            ):
                yield f"{location}/properties/{name}", {"operation": label, "property": name}


def _looks_like_a_record(node: dict[str, Any]) -> bool:
    record = vocabulary().responses.record_words
    return any(set(words(name)) & record for name in node.get("properties") or {})


@rule("API-027")
def closed_user_records(view: OpenApiView) -> Iterator[Hit]:
    """Open response objects that carry personal data: whatever the server adds to the record
    later is sent too. Only records are flagged, so an open envelope is not noise."""
    for location, node, label in response_schemas(view):
        if (
            node.get("properties")
            and node.get("additionalProperties", True) is True
            and "unevaluatedProperties" not in node
            and _looks_like_a_record(node)
        ):
            yield location, {"operation": label}
