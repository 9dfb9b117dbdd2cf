"""The published OpenAPI document: FastAPI's, completed with what the routes cannot say alone.

Every operation documents the problem+json errors it can return, the rate-limit headers and 429
with Retry-After; FastAPI's own 422 schema is replaced by the Problem schema the server sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from partner_api.problems import PROBLEM_MEDIA, Problem

DESCRIPTION = """\
Partners and suppliers integrate from their own pipelines: read the framework and the published
listings without a token; with a bearer token from `assure token issue`, read and change what
your organisation and role allow. Tokens are scoped, short-lived and revocable.

Errors are RFC 9457 problem details. 401: no usable token. 403: the token's scopes or the role do
not allow the action. 404: no such object, or one your organisation may not see (the two are not
told apart). 409: the object's state refuses the request. 422: the request does not match this
document. 429: the rate limit is reached; retry after `Retry-After` seconds.
"""
RATE_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {
        "description": "Requests allowed in the window.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the window frees a request.",
        "schema": {"type": "integer", "minimum": 0},
    },
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _link(operation_id: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": parameters}


# OpenAPI links: how a created object's id feeds the operations that use it (clients and
# stateful testers follow them).
LINKS: dict[tuple[str, str], dict[str, Any]] = {
    ("createProduct", "201"): {
        "GetProduct": _link("getProduct", product_id="$response.body#/id"),
        "GetProductScore": _link("getProductScore", product_id="$response.body#/id"),
        "StartEndpointCheck": _link("startEndpointCheck", product_id="$response.body#/id"),
        "StartFileCheck": _link("startFileCheck", product_id="$response.body#/id"),
        "ListCheckRuns": _link("listCheckRuns", product_id="$response.body#/id"),
        "ListAssessments": _link("listAssessments", product_id="$response.body#/id"),
        "UpdateProduct": _link("updateProduct", product_id="$response.body#/id"),
        "WithdrawProduct": _link("withdrawProduct", product_id="$response.body#/id"),
        "IssuePqChallenge": _link("issuePqChallenge", product_id="$response.body#/id"),
    },
    ("issuePqChallenge", "201"): {
        "AnswerPqChallenge": _link("answerPqChallenge", challenge_id="$response.body#/id")
    },
    ("startEndpointCheck", "202"): {"GetJob": _link("getJob", job_id="$response.body#/id")},
    ("startFileCheck", "202"): {"GetJob": _link("getJob", job_id="$response.body#/id")},
}


def _problem(description: str, **headers: Any) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**RATE_HEADERS, **headers},
        "content": {PROBLEM_MEDIA: {"schema": PROBLEM_REF}},
    }


def _complete(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    secured = operation.get("security") != []
    takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
    for code, response in responses.items():
        if code.startswith(("2", "3")):
            response.setdefault("headers", {}).update(RATE_HEADERS)
        if (operation.get("operationId"), code) in LINKS:
            response["links"] = LINKS[(operation["operationId"], code)]
    if secured:
        responses["401"] = _problem(
            "No usable bearer token.",
            **{
                "WWW-Authenticate": {
                    "description": "The Bearer challenge.",
                    "schema": {"type": "string"},
                }
            },
        )
        responses["403"] = _problem("The token's scopes or the caller's role do not allow this.")
    responses["404"] = _problem("No such object, or one the caller may not see.")
    responses["409"] = _problem("The object's current state refuses the request.")
    if operation.get("requestBody"):
        responses["400"] = _problem("The body cannot be parsed as the declared media type.")
        responses["413"] = _problem("The request body is larger than the server accepts.")
    if takes_input:
        responses["422"] = _problem("The request does not match this document.")
    else:
        responses.pop("422", None)
    responses["429"] = _problem(
        "Too many requests.",
        **{
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    )
    responses["500"] = _problem("The server could not complete the request.")


def build_document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=DESCRIPTION,
        routes=app.routes,
        contact={"name": "PoliceTech Assure service desk", "url": "https://github.com/"},
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for schema in schemas.values():
        for field in (schema.get("properties") or {}).values():
            if "contentMediaType" in field:
                field["format"] = "binary"
    for item in document.get("paths", {}).values():
        for operation in item.values():
            _complete(operation)
    return document


def publish(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
