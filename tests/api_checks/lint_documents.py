"""Small OpenAPI documents for the lint tests, and a way to lint one as a user would submit it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checks.api.lint import lint
from checks.api.spec import load_spec
from checks.egress import EgressPolicy
from checks.findings import CheckFinding

Document = dict[str, Any]
OK = {"200": {"description": "OK"}}


def operation(**fields: Any) -> dict[str, Any]:
    return {"summary": "An operation", "responses": OK, **fields}


def body(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": schema}}}


def returns(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def document(paths: dict[str, Any], **top: Any) -> Document:
    """A valid OpenAPI 3.0 document with bearer security on by default."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Test API", "version": "1.0.0", "contact": {"email": "api@example.com"}},
        "servers": [{"url": "https://api.example.com/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            }
        },
        **top,
    }


def lint_document(doc: Document, folder: Path, name: str = "openapi.json") -> list[CheckFinding]:
    path = folder / name
    path.write_text(json.dumps(doc))
    spec = load_spec(str(path), EgressPolicy())
    assert spec.valid, spec.validity_errors
    return lint(spec)


def pointers(findings: list[CheckFinding], code: str) -> list[str]:
    return [f.evidence["pointer"] for f in findings if f.code == code]
