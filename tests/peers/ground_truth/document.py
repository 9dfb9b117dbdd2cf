"""The one OpenAPI 3.1 description of the case-notes API that all three frameworks serve.

Written so that a clean implementation lints at low severity or below: HTTPS server, bearer JWT
or session cookie on every operation, bounded inputs, problem documents for errors, 401/403/429
documented, RateLimit headers named, links from a created note to reading and updating it.
"""

from __future__ import annotations

import copy
from typing import Any

PROBLEM = "application/problem+json"
API_PREFIX = "/v1"
CLASSIFICATIONS = ["OFFICIAL", "OFFICIAL-SENSITIVE"]
SESSION_COOKIE = "case_session"
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
MAX_LIMIT = 50
# Past this many notes in one list answer the flawed targets drop a required property (faults.py).
FULL_PAGE = 20

NOTE_ID = {"type": "string", "format": "uuid", "minLength": 36, "maxLength": 36}
TITLE = {"type": "string", "minLength": 1, "maxLength": 120}
BODY = {"type": "string", "maxLength": 2000}
CLASSIFICATION = {"type": "string", "enum": CLASSIFICATIONS}

SCHEMAS: dict[str, Any] = {
    "Identity": {
        "type": "object",
        "required": ["user"],
        "additionalProperties": False,
        "properties": {"user": {"type": "string", "maxLength": 64}},
    },
    "Stats": {
        "type": "object",
        "required": ["notes"],
        "additionalProperties": False,
        "properties": {"notes": {"type": "integer", "minimum": 0, "maximum": 1000000}},
    },
    # What a client sends to create a note. owner is the server's to set: marked readOnly, as
    # generators of descriptions do when one schema serves both directions.
    "NoteCreate": {
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": {
            "title": TITLE,
            "body": BODY,
            "classification": CLASSIFICATION,
            "owner": {"type": "string", "maxLength": 64, "readOnly": True},
        },
    },
    "NotePatch": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {"title": TITLE, "body": BODY, "classification": CLASSIFICATION},
    },
    "Note": {
        "type": "object",
        "required": ["id", "owner", "title", "body", "classification", "created_at"],
        "additionalProperties": False,
        "properties": {
            "id": {**NOTE_ID, "readOnly": True},
            "owner": {"type": "string", "maxLength": 64, "readOnly": True},
            "title": TITLE,
            "body": BODY,
            "classification": CLASSIFICATION,
            "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["title", "status"],
        "properties": {
            "type": {"type": "string", "maxLength": 200},
            "title": {"type": "string", "maxLength": 200},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string", "maxLength": 2000},
        },
    },
}

ERROR_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    415: "Unsupported media type",
    422: "Invalid body",
    429: "Too many requests",
}


def _rate_headers() -> dict[str, Any]:
    return {
        name: {
            "description": f"{name}, as in draft-ietf-httpapi-ratelimit-headers",
            "schema": {"type": "string", "maxLength": 40},
        }
        for name in RATE_HEADERS
    }


def _errors(*codes: int) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code in codes:
        headers = _rate_headers()
        if code == 429:
            headers["Retry-After"] = {
                "description": "Seconds to wait",
                "schema": {"type": "integer", "minimum": 0, "maximum": 3600},
            }
        if code == 401:
            headers["WWW-Authenticate"] = {
                "description": "Bearer challenge",
                "schema": {"type": "string", "maxLength": 200},
            }
        responses[str(code)] = {
            "description": ERROR_TITLES[code],
            "headers": headers,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return responses


def _ok(description: str, schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "headers": _rate_headers(),
            "content": {"application/json": {"schema": schema}},
        }
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


NOTE_ID_PARAMETER = {
    "name": "note_id",
    "in": "path",
    "required": True,
    "description": "The note's id.",
    "schema": NOTE_ID,
}


def _operation(operation_id: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": summary + ".",
        "responses": responses,
    }


def build_document() -> dict[str, Any]:
    """A fresh copy of the description (callers may change theirs)."""
    created = _ok("Created", _ref("Note"), "201")
    created["201"]["headers"]["Location"] = {
        "description": "Where the new note can be read",
        "schema": {"type": "string", "maxLength": 200},
    }
    created["201"]["links"] = {
        "GetNote": {"operationId": "getNote", "parameters": {"note_id": "$response.body#/id"}},
        "UpdateNote": {
            "operationId": "updateNote",
            "parameters": {"note_id": "$response.body#/id"},
        },
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Case notes API",
            "version": "1.0.0",
            "description": "Officers' case notes, for the API check's ground truth.",
            "contact": {"name": "Assure test team", "email": "api@example.police.uk"},
        },
        "servers": [{"url": "https://case-notes.example.police.uk"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            f"{API_PREFIX}/me": {
                "get": _operation(
                    "whoAmI",
                    "Who the caller is",
                    {**_ok("The caller", _ref("Identity")), **_errors(401, 403, 429)},
                )
            },
            f"{API_PREFIX}/stats": {
                "get": _operation(
                    "noteStats",
                    "How many case notes are held",
                    {**_ok("Counts", _ref("Stats")), **_errors(401, 403, 429)},
                )
            },
            f"{API_PREFIX}/notes": {
                "get": {
                    **_operation(
                        "listNotes",
                        "The caller's case notes",
                        {
                            **_ok(
                                "The caller's notes",
                                {"type": "array", "maxItems": MAX_LIMIT, "items": _ref("Note")},
                            ),
                            **_errors(400, 401, 403, 429),
                        },
                    ),
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "description": "At most this many notes.",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_LIMIT,
                                "default": 10,
                            },
                        }
                    ],
                },
                "post": {
                    **_operation(
                        "createNote",
                        "Record a case note owned by the caller",
                        {**created, **_errors(400, 401, 403, 415, 422, 429)},
                    ),
                    "requestBody": _json_body("NoteCreate"),
                },
            },
            f"{API_PREFIX}/notes/{{note_id}}": {
                "get": {
                    **_operation(
                        "getNote",
                        "One of the caller's case notes",
                        {**_ok("The note", _ref("Note")), **_errors(400, 401, 403, 404, 429)},
                    ),
                    "parameters": [NOTE_ID_PARAMETER],
                },
                "patch": {
                    **_operation(
                        "updateNote",
                        "Change one of the caller's case notes",
                        {
                            **_ok("The changed note", _ref("Note")),
                            **_errors(400, 401, 403, 404, 415, 422, 429),
                        },
                    ),
                    "parameters": [NOTE_ID_PARAMETER],
                    "requestBody": _json_body("NotePatch"),
                },
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                # The browser's way in: the same token as a cookie, set by GET /v1/me.
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
            "schemas": SCHEMAS,
        },
    }
    return copy.deepcopy(document)


def schema(name: str) -> dict[str, Any]:
    """A component schema, standalone (none of them refers to another)."""
    return copy.deepcopy(SCHEMAS[name])
