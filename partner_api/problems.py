"""Errors as RFC 9457 problem details. Nothing from a traceback or the database reaches a client.

401: no usable bearer token. 403: the token or role does not allow the action at all. 404: the
object does not exist or belongs to another tenant (the two are indistinguishable on purpose).
409: the request is well formed but the object's state refuses it. 422: the request does not
match the published schema.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from kernel.errors import AssureError, LocatedProblems, ValidationFailed
from posture.identity.permissions import NotFound, PermissionDenied
from posture.identity.tokens import TokenRejected

PROBLEM_MEDIA = "application/problem+json"
log = logging.getLogger("assure.api")

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Request does not match the schema",
    429: "Too many requests",
    500: "Internal error",
}


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    location: str = Field(max_length=300)
    message: str = Field(max_length=500)


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(default="about:blank", max_length=200)
    title: str = Field(max_length=200)
    status: int = Field(ge=400, le=599)
    detail: str | None = Field(default=None, max_length=2000)
    errors: list[FieldError] | None = Field(default=None, max_length=50)


def problem(
    status: int, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = Problem(title=TITLES.get(status, "Error"), status=status, detail=detail, **extra)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA,
        headers=headers,
    )


UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer realm="assure", error="invalid_token"'}


def _assure_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, TokenRejected):
        # The reason (expired, revoked, forged) goes to the log, never to the caller.
        log.info("bearer token refused: %s", exc)
        return problem(401, "give a valid bearer token", UNAUTHENTICATED)
    if isinstance(exc, PermissionDenied):
        return problem(403, str(exc))
    if isinstance(exc, NotFound):
        return problem(404, str(exc))
    if isinstance(exc, LocatedProblems):
        errors = [
            FieldError(location=where[:300], message=what[:500]) for where, what in exc.located[:50]
        ]
        return problem(409, str(exc)[:2000], errors=errors)
    if isinstance(exc, ValidationFailed):
        return problem(409, str(exc))
    log.error("unexpected service error on %s: %s", request.url.path, exc)
    return problem(500, "the request could not be completed")


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if exc.errors() and all(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
        # /v1/products/abc names no product: that is a missing resource, not a bad request.
        return problem(404, "no such object")
    # Echo where and why, never the submitted value: it may be a secret or an attack string.
    errors = [
        FieldError(
            location=".".join(str(part) for part in error.get("loc", ()))[:300],
            message=str(error.get("msg", "invalid"))[:500],
        )
        for error in exc.errors()[:50]
    ]
    return problem(422, "the request does not match the schema", errors=errors)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.update(UNAUTHENTICATED)
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail, headers or None)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the published document offers at this path: FastAPI keeps one route per
    method, and Starlette's own Allow header names only the first route's."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern, _, _ = compile_path(template)
        if pattern.match(request.url.path):
            methods |= {method.upper() for method in item}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return problem(500, "the request could not be completed")


def install(app: FastAPI) -> None:
    app.add_exception_handler(AssureError, _assure_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
