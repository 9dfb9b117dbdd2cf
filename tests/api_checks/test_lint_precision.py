"""The lint neither credits what only looks bounded nor flags what an author chose deliberately:
loose patterns, date-versioned paths, cursors named token, dictionaries, capped rules, and a
description with nothing in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.api.check import run_api_check
from checks.api.lint import MAX_HITS_PER_RULE, lint
from checks.api.spec import load_spec
from checks.egress import EgressPolicy
from checks.report import ReportStatus
from tests.api_checks.lint_documents import body, document, lint_document, operation, pointers

TWILIO = Path(__file__).resolve().parents[1] / "data/openapi/twilio_api_v2010.json"
STRING = {"type": "string", "maxLength": 100}


def _query(name: str, schema: dict, description: str = "") -> dict:
    parameter = {"name": name, "in": "query", "schema": schema}
    return {**parameter, "description": description} if description else parameter


# 5. What bounds a string or a number


@pytest.mark.parametrize(
    ("schema", "unbounded"),
    [
        ({"type": "string", "pattern": "^[A-Z]{2}[0-9]{6}$"}, False),
        ({"type": "string", "pattern": "^AC[0-9a-f]{32}$"}, False),
        ({"type": "string", "format": "uuid"}, False),
        ({"type": "string", "format": "date"}, False),
        ({"type": "string", "pattern": "[A-Z]{2}"}, True),
        ({"type": "string", "pattern": "^[a-z]+$"}, True),
        ({"type": "string", "pattern": "^a{2,}$"}, True),
        ({"type": "string", "pattern": "^ab$|^.*$"}, True),
        ({"type": "string", "format": "uri"}, True),
        ({"type": "string", "format": "email"}, True),
    ],
)
def test_only_anchored_finite_patterns_and_fixed_formats_bound_a_string(
    schema: dict, unbounded: bool, tmp_path: Path
) -> None:
    doc = document({"/v1/find": {"get": operation(parameters=[_query("q", schema)])}})
    found = pointers(lint_document(doc, tmp_path), "API-012")
    assert found == (["/paths/~1v1~1find/get/parameters/0/schema"] if unbounded else [])


def test_numbers_without_a_range_score_and_one_sided_ones_are_told_apart(tmp_path: Path) -> None:
    parameters = [
        _query("limit", {"type": "integer"}),
        _query("offset", {"type": "integer", "minimum": 0}),
        _query("page", {"type": "integer", "minimum": 1, "maximum": 100}),
    ]
    findings = lint_document(
        document({"/v1/find": {"get": operation(parameters=parameters)}}), tmp_path
    )
    where = "/paths/~1v1~1find/get/parameters/{}/schema"
    assert pointers(findings, "API-014") == [where.format(0)]
    assert pointers(findings, "API-032") == [where.format(1)]
    severities = {f.code: f.severity for f in findings}
    assert (severities["API-014"], severities["API-032"]) == ("low", "info")


# 7. Versioning that is not /v1 in the path


@pytest.mark.parametrize(
    ("paths", "top"),
    [
        (
            {"/2010-04-01/Accounts": {"get": operation()}},
            {"servers": [{"url": "https://api.example"}]},
        ),
        ({"/accounts": {"get": operation()}}, {"servers": [{"url": "https://api.example/v2"}]}),
        (
            {
                "/accounts": {
                    "servers": [{"url": "https://api.example/v1beta2"}],
                    "get": operation(),
                }
            },
            {"servers": [{"url": "https://api.example"}]},
        ),
        (
            {
                "/accounts": {
                    "get": operation(
                        parameters=[{"name": "Api-Version", "in": "header", "schema": STRING}]
                    )
                }
            },
            {"servers": [{"url": "https://api.example"}]},
        ),
        (
            {
                "/accounts": {
                    "get": operation(
                        responses={
                            "200": {
                                "description": "OK",
                                "content": {
                                    "application/vnd.example.v2+json": {
                                        "schema": {"type": "object"}
                                    }
                                },
                            }
                        }
                    )
                }
            },
            {"servers": [{"url": "https://api.example"}]},
        ),
    ],
    ids=["date-in-path", "server-url", "path-level-server", "version-header", "media-type"],
)
def test_versioned_apis_are_not_flagged(paths: dict, top: dict, tmp_path: Path) -> None:
    assert pointers(lint_document(document(paths, **top), tmp_path), "API-019") == []


def test_an_unversioned_path_is_still_flagged(tmp_path: Path) -> None:
    doc = document({"/accounts": {"get": operation()}}, servers=[{"url": "https://api.example"}])
    assert pointers(lint_document(doc, tmp_path), "API-019") == ["/paths/~1accounts"]


# 8. A cursor called token


@pytest.mark.parametrize(
    ("name", "description", "credential"),
    [
        ("token", "Continuation token from the previous page of results.", False),
        ("token", "Opaque cursor; pass the value of next from the last response.", False),
        ("next_token", "", False),
        ("pageToken", "", False),
        ("continuation_token", "", False),
        ("token", "", True),
        ("token", "Your API token.", True),
        ("token", "Access token for the next page of results.", True),
        ("access_token", "", True),
    ],
)
def test_a_query_token_is_a_credential_unless_it_is_a_cursor(
    name: str, description: str, credential: bool, tmp_path: Path
) -> None:
    parameters = [_query(name, {"type": "string", "maxLength": 64}, description)]
    doc = document({"/v1/items": {"get": operation(parameters=parameters)}})
    found = pointers(lint_document(doc, tmp_path), "API-004")
    assert found == (["/paths/~1v1~1items/get/parameters/0"] if credential else [])


# 9. A dictionary on purpose


def test_maps_and_explicitly_open_bodies_are_not_mass_assignment(tmp_path: Path) -> None:
    payload = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "metadata": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 50},
            },
            "labels": {"type": "object", "additionalProperties": True},
            "settings": {"type": "object", "properties": {"theme": STRING}},
        },
    }
    doc = document({"/v1/things": {"post": operation(requestBody=body(payload))}})
    schema = "/paths/~1v1~1things/post/requestBody/content/application~1json/schema"
    assert pointers(lint_document(doc, tmp_path), "API-015") == [f"{schema}/properties/settings"]


# 10. A capped rule says it was capped


def test_a_rule_that_hits_its_cap_says_how_many_it_saw(tmp_path: Path) -> None:
    many = MAX_HITS_PER_RULE + 37
    doc = document({f"/v1/r{i}": {"get": operation()} for i in range(many)})
    found = [f for f in lint_document(doc, tmp_path) if f.code == "API-008"]
    assert len(found) == MAX_HITS_PER_RULE
    assert found[-1].evidence["truncated"] is True
    assert found[-1].evidence["total"] == many
    assert not any("truncated" in f.evidence for f in found[:-1])


def test_a_rule_under_its_cap_is_not_marked_truncated(tmp_path: Path) -> None:
    doc = document({f"/v1/r{i}": {"get": operation()} for i in range(MAX_HITS_PER_RULE)})
    found = [f for f in lint_document(doc, tmp_path) if f.code == "API-008"]
    assert len(found) == MAX_HITS_PER_RULE
    assert not any("truncated" in f.evidence for f in found)


# 11. Nothing to assess


@pytest.mark.parametrize("paths", [{}, {"/v1/notes": {}}], ids=["no-paths", "no-methods"])
def test_a_description_without_operations_is_not_assessable(paths: dict, tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    lint_document(document(paths), tmp_path)
    report = run_api_check(str(path), EgressPolicy())
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert report.score is None
    assert [f.code for f in report.findings if f.code == "API-033"] == ["API-033"]


def test_a_description_with_one_operation_is_scored(tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    lint_document(document({"/v1/notes": {"get": operation()}}), tmp_path)
    report = run_api_check(str(path), EgressPolicy())
    assert report.status is ReportStatus.COMPLETED
    assert report.score is not None


# A large real description: Twilio's date-versioned API


def test_twilio_is_read_for_what_it_is() -> None:
    findings = lint(load_spec(str(TWILIO), EgressPolicy()))
    by_code: dict[str, list] = {}
    for item in findings:
        by_code.setdefault(item.code, []).append(item)
    assert "API-019" not in by_code  # every path starts /2010-04-01
    callbacks = {f.evidence["input"] for f in by_code["API-024"]}
    assert {"StatusCallback", "VoiceUrl", "SmsUrl"} <= callbacks
    secrets = {f.evidence["pointer"] for f in by_code["API-026"]}
    assert "/components/schemas/api.v2010.account/properties/auth_token" in secrets
    assert by_code["API-012"][-1].evidence["truncated"] is True
    assert by_code["API-012"][-1].evidence["total"] > MAX_HITS_PER_RULE
