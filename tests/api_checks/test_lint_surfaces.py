"""The lint sees the attack surface a description publishes: open writes, inputs that carry URLs,
internal servers, secrets in responses, client-settable server fields, and inventory leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api_checks.lint_documents import (
    body,
    document,
    lint_document,
    operation,
    pointers,
    returns,
)

STRING = {"type": "string", "maxLength": 100}


# 1. Authentication switched off


def test_a_top_level_empty_security_is_a_finding(tmp_path: Path) -> None:
    doc = document({"/v1/notes": {"get": operation()}}, security=[])
    assert pointers(lint_document(doc, tmp_path), "API-023") == ["/security"]


def test_writes_open_while_reads_need_a_token_are_findings(tmp_path: Path) -> None:
    doc = document(
        {
            "/v1/notes": {
                "get": operation(),
                "post": operation(security=[]),
                "delete": operation(security=[{}, {"bearer": []}]),
                "put": operation(),
            }
        }
    )
    found = pointers(lint_document(doc, tmp_path), "API-023")
    assert found == ["/paths/~1v1~1notes/post", "/paths/~1v1~1notes/delete"]


def test_a_public_read_alone_is_not_an_open_write(tmp_path: Path) -> None:
    doc = document(
        {"/v1/health": {"get": operation(security=[])}, "/v1/notes": {"post": operation()}}
    )
    assert pointers(lint_document(doc, tmp_path), "API-023") == []


# 2. Server-side request forgery and internal servers


def test_inputs_that_carry_urls_are_findings(tmp_path: Path) -> None:
    payload = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "webhookUrl": STRING,
            "avatar": {"type": "string", "format": "uri", "maxLength": 200},
            "target": {**STRING, "description": "The callback we POST results to."},
            "callback_enabled": {"type": "boolean"},
            "title": {**STRING, "description": "See [webhooks](https://docs.example/webhooks)."},
        },
    }
    parameters = [
        {"name": "redirect_uri", "in": "query", "schema": STRING},
        {"name": "next", "in": "query", "schema": STRING},
        {"name": "return_to", "in": "query", "schema": STRING},
        {"name": "q", "in": "query", "schema": STRING},
    ]
    doc = document(
        {"/v1/jobs": {"post": operation(parameters=parameters, requestBody=body(payload))}}
    )
    found = {
        f.evidence["input"]: f.evidence["why"]
        for f in lint_document(doc, tmp_path)
        if f.code == "API-024"
    }
    assert found == {
        "redirect_uri": "name",
        "next": "name",
        "return_to": "name",
        "webhookUrl": "name",
        "avatar": "format",
        "target": "description",
    }


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://localhost:8080/v1", "internal host name"),
        ("https://127.0.0.1/v1", "loopback address"),
        ("https://[::1]/v1", "loopback address"),
        ("https://169.254.169.254/latest", "link-local address"),
        ("https://192.168.1.20/v1", "private address"),
        ("https://172.16.4.4/v1", "private address"),
        ("https://api.internal/v1", "internal domain"),
        ("https://notes.corp.local/v1", "internal domain"),
        ("https://apiserver/v1", "single-label host name"),
    ],
)
def test_servers_inside_the_network_are_findings(url: str, why: str, tmp_path: Path) -> None:
    doc = document({"/v1/notes": {"get": operation()}}, servers=[{"url": url}])
    found = [f.evidence for f in lint_document(doc, tmp_path) if f.code == "API-025"]
    assert [(e["pointer"], e["why"]) for e in found] == [("/servers/0/url", why)]


def test_public_and_relative_servers_are_not_internal(tmp_path: Path) -> None:
    servers = [{"url": "https://api.example.com/v1"}, {"url": "/v1"}, {"url": "https://8.8.8.8"}]
    doc = document({"/v1/notes": {"get": operation()}}, servers=servers)
    assert pointers(lint_document(doc, tmp_path), "API-025") == []


def test_a_path_level_server_variable_default_is_read(tmp_path: Path) -> None:
    server = {"url": "https://{host}/v1", "variables": {"host": {"default": "10.1.2.3"}}}
    doc = document({"/v1/notes": {"servers": [server], "get": operation()}})
    assert pointers(lint_document(doc, tmp_path), "API-025") == ["/paths/~1v1~1notes/servers/0/url"]


# 3. Secrets and open records in responses


def test_secrets_in_responses_are_findings_and_cursors_are_not(tmp_path: Path) -> None:
    user = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "username": STRING,
            "passwordHash": STRING,
            "apiKey": STRING,
            "refresh_token": STRING,
            "next_page_token": STRING,
            "token_type": STRING,
            "has_password": {"type": "boolean"},
            "public_key": STRING,
            "password": {**STRING, "writeOnly": True},
        },
    }
    doc = document({"/v1/me": {"get": operation(responses=returns(user))}})
    found = {f.evidence["property"] for f in lint_document(doc, tmp_path) if f.code == "API-026"}
    assert found == {"passwordHash", "apiKey", "refresh_token"}


def test_open_user_records_are_info_but_open_envelopes_are_not(tmp_path: Path) -> None:
    record = {"type": "object", "properties": {"email": STRING, "name": STRING}}
    envelope = {"type": "object", "properties": {"count": {"type": "integer"}}}
    closed = {**record, "additionalProperties": False}
    doc = document(
        {
            "/v1/me": {"get": operation(responses=returns(record))},
            "/v1/stats": {"get": operation(responses=returns(envelope))},
            "/v1/closed": {"get": operation(responses=returns(closed))},
        }
    )
    findings = [f for f in lint_document(doc, tmp_path) if f.code == "API-027"]
    assert [f.evidence["pointer"] for f in findings] == [
        "/paths/~1v1~1me/get/responses/200/content/application~1json/schema"
    ]
    assert findings[0].severity == "info"


# 4. Mass assignment on create


def test_server_owned_properties_writable_on_create_are_findings(tmp_path: Path) -> None:
    user_in = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "id": {**STRING, "readOnly": True},
            "role": STRING,
            "isAdmin": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
            "display_name": STRING,
            "team": {"type": "object", "properties": {"id": STRING}, "additionalProperties": False},
        },
    }
    doc = document(
        {
            "/v1/users": {"post": operation(requestBody=body(user_in))},
            "/v1/users/{user}": {
                "parameters": [{"name": "user", "in": "path", "required": True, "schema": STRING}],
                "patch": operation(requestBody=body({**user_in, "properties": {"role": STRING}})),
            },
        }
    )
    found = pointers(lint_document(doc, tmp_path), "API-028")
    schema = "/paths/~1v1~1users/post/requestBody/content/application~1json/schema"
    assert sorted(found) == sorted(
        f"{schema}/properties/{name}" for name in ("role", "isAdmin", "created_at")
    )


# 6. Inventory


def test_internal_operations_non_production_servers_and_deprecations_are_listed(
    tmp_path: Path,
) -> None:
    doc = document(
        {
            "/v1/debug": {"x-internal": True, "get": operation()},
            "/v1/notes": {
                "get": operation(deprecated=True),
                "post": operation(**{"x-internal": True}),
            },
        },
        servers=[
            {"url": "https://api.example.com/v1", "description": "Production"},
            {"url": "https://api-uat.example.com/v1"},
            {"url": "https://api.example.com/v1", "description": "Sandbox for partners"},
        ],
    )
    findings = lint_document(doc, tmp_path)
    assert pointers(findings, "API-029") == ["/paths/~1v1~1debug", "/paths/~1v1~1notes/post"]
    assert pointers(findings, "API-030") == ["/servers/1", "/servers/2"]
    assert pointers(findings, "API-031") == ["/paths/~1v1~1notes/get/deprecated"]
    severities = {f.code: f.severity for f in findings}
    assert (severities["API-029"], severities["API-030"], severities["API-031"]) == (
        "low",
        "low",
        "info",
    )


def test_a_public_way_in_is_not_an_open_write(tmp_path: Path) -> None:
    # Signing in, getting a token and signing up are public on purpose; the same explicit
    # `security: []` on an ordinary write is still a finding.
    doc = document(
        {
            "/v1/notes": {"get": operation(), "post": operation(security=[])},
            "/v1/login": {"post": operation(security=[])},
            "/oauth/token": {"post": operation(security=[])},
            "/v1/accounts": {"post": {**operation(security=[]), "operationId": "signUp"}},
        }
    )
    assert pointers(lint_document(doc, tmp_path), "API-023") == ["/paths/~1v1~1notes/post"]


def test_an_empty_default_overridden_by_every_operation_is_not_a_finding(tmp_path: Path) -> None:
    bearer = [{"bearer": []}]
    doc = document(
        {"/v1/notes": {"get": operation(security=bearer), "post": operation(security=bearer)}},
        security=[],
    )
    assert all("security" in o for path in doc["paths"].values() for o in path.values())
    assert pointers(lint_document(doc, tmp_path), "API-023") == []
