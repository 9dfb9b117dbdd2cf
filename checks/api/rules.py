"""The lint rules. Each is a small function over the document view yielding (pointer, evidence);
titles, severities, advice and outcome links live in checks/data/findings.yaml, and the part, gate
and OWASP item of each in checks/data/api_rules.yaml."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from checks.api.model import OpenApiView, pointer

Hit = tuple[str, dict[str, Any]]
Rule = Callable[[OpenApiView], Iterator[Hit]]
RULES: dict[str, Rule] = {}

CREDENTIAL_NAMES = re.compile(
    r"(api[_-]?key|apikey|token|secret|password|passwd|access[_-]?key"
    r"|auth)",
    re.IGNORECASE,
)
ADMIN_PATH = re.compile(r"(^|/)(admin|administration|manage|internal)(/|$)", re.IGNORECASE)
BOUNDED_FORMATS = {"date", "date-time", "time", "uuid", "email", "ipv4", "ipv6", "byte", "uri"}
RATE_HEADERS = re.compile(r"^(x-)?ratelimit", re.IGNORECASE)
VERSIONED = re.compile(r"/v\d+(\.\d+)?(/|$)", re.IGNORECASE)


def rule(rule_id: str) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        RULES[rule_id] = func
        return func

    return register


def _secured(view: OpenApiView, operation: Any) -> bool:
    return bool(view.security_for(operation))


@rule("API-001")
def https_only(view: OpenApiView) -> Iterator[Hit]:
    for index, server in enumerate(view.document.get("servers") or []):
        url = str((server or {}).get("url", ""))
        if url.lower().startswith("http://"):
            yield pointer("servers", index, "url"), {"url": url}


@rule("API-002")
def schemes_defined(view: OpenApiView) -> Iterator[Hit]:
    if not view.schemes() and any(True for _ in view.operations()):
        yield "/components/securitySchemes", {}


@rule("API-003")
def security_applied(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        if view.security_for(operation) is None:
            yield operation.pointer, {"operation": operation.label}


@rule("API-004")
def credentials_in_url(view: OpenApiView) -> Iterator[Hit]:
    for name, scheme in view.schemes().items():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "query":
            yield pointer("components", "securitySchemes", name), {"scheme": name}
    for operation in view.operations():
        for index, parameter in enumerate(operation.parameters):
            name = str(parameter.get("name"))
            # Pagination tokens and cursors are not credentials.
            paging = re.search(r"page|cursor|continuation", name, re.IGNORECASE)
            if parameter.get("in") == "query" and CREDENTIAL_NAMES.search(name) and not paging:
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


def _codes(view: OpenApiView, operation: Any) -> set[str]:
    return {code.upper() for code in view.responses(operation)}


@rule("API-007")
def auth_errors_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        if _secured(view, operation):
            missing = (
                {"401", "403"}
                - _codes(view, operation)
                - ({"401", "403"} if "4XX" in _codes(view, operation) else set())
            )
            if missing:
                yield (
                    f"{operation.pointer}/responses",
                    {"operation": operation.label, "missing": sorted(missing)},
                )


@rule("API-008")
def too_many_requests_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        if not {"429", "4XX"} & _codes(view, operation):
            yield f"{operation.pointer}/responses", {"operation": operation.label}


@rule("API-009")
def client_errors_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        takes_input = operation.parameters or operation.node.get("requestBody")
        if takes_input and not {"400", "422", "4XX"} & _codes(view, operation):
            yield f"{operation.pointer}/responses", {"operation": operation.label}


@rule("API-010")
def server_errors_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        codes = _codes(view, operation)
        if not ({"DEFAULT", "5XX"} & codes or any(c.startswith("5") for c in codes)):
            yield f"{operation.pointer}/responses", {"operation": operation.label}


@rule("API-011")
def rate_limit_headers(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        responses = view.responses(operation)
        headers = {name for r in responses.values() for name in (r.get("headers") or {})}
        too_many = responses.get("429") or {}
        missing = []
        if not any(RATE_HEADERS.match(h) for h in headers):
            missing.append("RateLimit-*")
        if too_many and "retry-after" not in {h.lower() for h in too_many.get("headers") or {}}:
            missing.append("Retry-After")
        if missing:
            yield (
                f"{operation.pointer}/responses",
                {"operation": operation.label, "missing": missing},
            )


def _input_schemas(view: OpenApiView) -> Iterator[tuple[str, dict[str, Any], str]]:
    seen: set[str] = set()
    for operation in view.operations():
        for where, schema in view.request_schemas(operation):
            for location, node in view.walk_schema(schema, where):
                if location not in seen:
                    seen.add(location)
                    yield location, node, operation.label


def _types(node: dict[str, Any]) -> set[str]:
    declared = node.get("type")
    return set(declared) if isinstance(declared, list) else {declared} if declared else set()


@rule("API-012")
def string_limits(view: OpenApiView) -> Iterator[Hit]:
    for location, node, label in _input_schemas(view):
        if (
            "string" in _types(node)
            and "maxLength" not in node
            and "enum" not in node
            and "const" not in node
            and node.get("format") not in BOUNDED_FORMATS
            and "pattern" not in node
        ):
            yield location, {"operation": label}


@rule("API-013")
def array_limits(view: OpenApiView) -> Iterator[Hit]:
    for location, node, label in _input_schemas(view):
        if "array" in _types(node) and "maxItems" not in node:
            yield location, {"operation": label}


@rule("API-014")
def integer_ranges(view: OpenApiView) -> Iterator[Hit]:
    for location, node, label in _input_schemas(view):
        if (
            _types(node) & {"integer", "number"}
            and "enum" not in node
            and not (
                {"minimum", "exclusiveMinimum"} & node.keys()
                and {"maximum", "exclusiveMaximum"} & node.keys()
            )
        ):
            yield location, {"operation": label}


@rule("API-015")
def closed_request_bodies(view: OpenApiView) -> Iterator[Hit]:
    seen: set[str] = set()
    for operation in view.operations():
        for where, schema in view.request_schemas(operation):
            if "/requestBody/" not in where:
                continue
            for location, node in view.walk_schema(schema, where):
                is_object = "object" in _types(node) or "properties" in node
                combined = any(k in node for k in ("allOf", "oneOf", "anyOf"))
                if (
                    is_object
                    and not combined
                    and node.get("additionalProperties", True) is True
                    and location not in seen
                ):
                    seen.add(location)
                    yield location, {"operation": operation.label}


@rule("API-016")
def admin_security(view: OpenApiView) -> Iterator[Hit]:
    operations = list(view.operations())
    ordinary = {repr(view.security_for(o)) for o in operations if not ADMIN_PATH.search(o.path)}
    for operation in operations:
        if ADMIN_PATH.search(operation.path) and repr(view.security_for(operation)) in ordinary:
            yield operation.pointer, {"operation": operation.label}


@rule("API-017")
def numeric_ids(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        for index, parameter in enumerate(operation.parameters):
            schema = view.deref(parameter.get("schema")) or {}
            if (
                parameter.get("in") == "path"
                and str(parameter.get("name", "")).lower().endswith("id")
                and _types(schema) & {"integer", "number"}
            ):
                yield (
                    f"{operation.pointer}/parameters/{index}",
                    {"operation": operation.label, "parameter": parameter.get("name")},
                )


@rule("API-018")
def problem_details(view: OpenApiView) -> Iterator[Hit]:
    for operation in view.operations():
        for code, response in view.responses(operation).items():
            if code[:1] in {"4", "5"} or code.upper() == "DEFAULT":
                content = response.get("content") or {}
                if content and not any("problem+json" in media for media in content):
                    yield (
                        pointer("paths", operation.path, operation.method, "responses", code),
                        {"operation": operation.label, "status": code},
                    )


@rule("API-019")
def versioned(view: OpenApiView) -> Iterator[Hit]:
    servers = [str((s or {}).get("url", "")) for s in view.document.get("servers") or []]
    if any(VERSIONED.search(url + "/") for url in servers):
        return
    for path in view.document.get("paths") or {}:
        if not VERSIONED.search(path + "/"):
            yield pointer("paths", path), {"path": path}


@rule("API-020")
def descriptions(view: OpenApiView) -> Iterator[Hit]:
    if not (view.document.get("info") or {}).get("contact"):
        yield "/info", {"missing": "contact"}
    for operation in view.operations():
        if not (operation.node.get("summary") or operation.node.get("description")):
            yield operation.pointer, {"operation": operation.label, "missing": "summary"}


@rule("API-021")
def operation_ids(view: OpenApiView) -> Iterator[Hit]:
    operations = list(view.operations())
    counts = Counter(o.node.get("operationId") for o in operations if o.node.get("operationId"))
    for operation in operations:
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
