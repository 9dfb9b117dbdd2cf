"""A "schema-violating request accepted" failure stands unless the request actually sent was
valid: schemathesis can serialise a negative form case into a valid one."""

from __future__ import annotations

import base64
from typing import Any

from checks.api.confirm import sent_body_conforms

OPERATION = "POST /v1/products/{product_id}/checks/file"
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/v1/products/{product_id}/checks/file": {
            "post": {
                "requestBody": {
                    "content": {
                        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/Upload"}}
                    }
                }
            }
        }
    },
    "components": {
        "schemas": {
            "Upload": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "file"],
                "properties": {
                    "kind": {"type": "string", "enum": ["cert", "jwks"]},
                    "file": {"type": "string", "format": "binary"},
                },
            }
        }
    },
}
BOUNDARY = "00f39a5cbe5385b12274fecd0448d0ac"


def _multipart(*pairs: tuple[str, str], **fields: str) -> dict[str, Any]:
    parts = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in [*fields.items(), *pairs]
    )
    body = (parts + f"--{BOUNDARY}--\r\n").encode()
    return {
        "method": "POST",
        "headers": {"Content-Type": [f"multipart/form-data; boundary={BOUNDARY}"]},
        "body": {"$base64": base64.b64encode(body).decode()},
    }


def test_a_valid_form_that_was_sent_does_not_confirm_the_failure() -> None:
    assert sent_body_conforms(DOCUMENT, OPERATION, _multipart(kind="cert", file="\x14"))


def test_a_form_missing_a_required_field_confirms_it() -> None:
    assert not sent_body_conforms(DOCUMENT, OPERATION, _multipart(kind="cert"))


def test_a_form_with_an_extra_field_confirms_it() -> None:
    request = _multipart(kind="cert", file="x", extra="1")
    assert not sent_body_conforms(DOCUMENT, OPERATION, request)


def test_a_value_outside_the_enum_confirms_it() -> None:
    assert not sent_body_conforms(DOCUMENT, OPERATION, _multipart(kind="pdf", file="x"))


def test_a_repeated_field_is_not_judged_and_the_failure_stands() -> None:
    request = _multipart(("kind", "jwks"), kind="cert", file="x")
    assert not sent_body_conforms(DOCUMENT, OPERATION, request)


def test_a_json_body_is_never_second_guessed() -> None:
    request = {
        "method": "POST",
        "headers": {"Content-Type": ["application/json"]},
        "body": {"$base64": base64.b64encode(b'{"kind": "cert", "file": "x"}').decode()},
    }
    assert not sent_body_conforms(DOCUMENT, OPERATION, request)
