"""Confirm a "schema-violating request accepted" failure against the request actually sent.

schemathesis generates a negative case as data and then serialises it; for form bodies
(multipart/form-data, application/x-www-form-urlencoded) the serialiser can drop or reshape
the very part that made the data invalid, so the server receives a valid request, accepts it
rightly, and the failure is the tester's, not the API's (schemathesis' own tracker has a run of
such fixes). A gate must not fail an API on that, so the sent body is parsed and validated
against the operation's schema: a body the schema accepts does not confirm the failure. The
check is one-way: anything it cannot parse or judge leaves the failure standing.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
from typing import Any
from urllib.parse import parse_qsl

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

NEGATIVE_ACCEPTED = "ST201"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _header(request: dict[str, Any], name: str) -> str:
    for key, values in (request.get("headers") or {}).items():
        if key.lower() == name and values:
            return str(values[0])
    return ""


def _sent_form(request: dict[str, Any], content_type: str) -> dict[str, Any] | None:
    body = request.get("body")
    if not isinstance(body, dict) or "$base64" not in body:
        return None
    raw = base64.b64decode(body["$base64"])
    if content_type.startswith("application/x-www-form-urlencoded"):
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    else:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        if not message.is_multipart():
            return None
        pairs = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                return None
            payload = part.get_payload(decode=True) or b""
            pairs.append((str(name), payload.decode("utf-8", "replace")))
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        return None  # a repeated field is an array or a trick; not judged here
    return dict(pairs)


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def sent_body_conforms(document: dict[str, Any], operation: str, request: dict[str, Any]) -> bool:
    """True only when the form body that was sent is valid for `operation` ("POST /path")."""
    method, _, path = operation.partition(" ")
    content_type = _header(request, "content-type")
    media = next((m for m in FORM_TYPES if content_type.startswith(m)), None)
    if media is None:
        return False
    try:
        content = document["paths"][path][method.lower()]["requestBody"]["content"]
    except (KeyError, TypeError):
        return False
    if media not in content or "schema" not in content[media]:
        return False
    sent = _sent_form(request, content_type)
    if sent is None:
        return False
    pointer = _pointer("paths", path, method.lower(), "requestBody", "content", media, "schema")
    try:
        validator = Draft202012Validator({**document, "$ref": pointer})
        return validator.is_valid(sent)
    except (SchemaError, KeyError, ValueError, TypeError):
        return False
