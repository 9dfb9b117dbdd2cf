"""Each lint rule fires on the fault it describes, at the right place, and not on a clean spec."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checks.api.lint import lint, rule_book
from checks.api.rules import RULES
from checks.api.spec import load_spec
from checks.egress import EgressPolicy
from tests.peers.apis import build_spec

Spec = dict[str, Any]
NOTES = "/paths/~1v1~1notes"


def _lint(spec: Spec, tmp_path: Path) -> list:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return lint(load_spec(str(path), EgressPolicy()))


def test_the_clean_spec_has_no_findings(tmp_path: Path) -> None:
    assert _lint(build_spec(flawed=False), tmp_path) == []


def test_every_rule_names_an_item_of_the_shipped_owasp_catalogue() -> None:
    from frameworks.library import shipped_library

    owasp = set(shipped_library().catalogues["owasp-api-top10-2023"].item_ids())
    book = rule_book()
    assert set(RULES) <= set(book.rules)
    named = {rule_id: book.rules[rule_id].owasp for rule_id in book.rules}
    assert {rule_id: item for rule_id, item in named.items() if item not in owasp} == {}


def _op(spec: Spec, path: str = "/v1/notes", method: str = "post") -> Spec:
    return spec["paths"][path][method]


def _note_in(spec: Spec) -> Spec:
    return spec["components"]["schemas"]["NoteIn"]


MUTATIONS: list[tuple[str, Callable[[Spec], None], str]] = [
    (
        "API-001",
        lambda s: s.update(servers=[{"url": "http://api.example.com/v1"}]),
        "/servers/0/url",
    ),
    (
        "API-002",
        lambda s: s["components"].pop("securitySchemes") and s.pop("security"),
        "/components/securitySchemes",
    ),
    ("API-003", lambda s: s.pop("security"), f"{NOTES}/get"),
    (
        "API-004",
        lambda s: _op(s, "/v1/search", "get")["parameters"].append(
            {"name": "api_key", "in": "query", "schema": {"type": "string", "maxLength": 10}}
        ),
        "/paths/~1v1~1search/get/parameters/1",
    ),
    (
        "API-005",
        lambda s: s["components"]["securitySchemes"].update(
            basic={"type": "http", "scheme": "basic"}
        ),
        "/components/securitySchemes/basic",
    ),
    (
        "API-006",
        lambda s: s["components"]["securitySchemes"]["bearer"].pop("bearerFormat"),
        "/components/securitySchemes/bearer",
    ),
    ("API-007", lambda s: _op(s)["responses"].pop("403"), f"{NOTES}/post/responses"),
    ("API-008", lambda s: _op(s)["responses"].pop("429"), f"{NOTES}/post/responses"),
    (
        "API-009",
        lambda s: [_op(s)["responses"].pop(c) for c in ("400", "422")],
        f"{NOTES}/post/responses",
    ),
    ("API-010", lambda s: _op(s)["responses"].pop("500"), f"{NOTES}/post/responses"),
    (
        "API-011",
        lambda s: _op(s)["responses"]["429"]["headers"].pop("Retry-After"),
        f"{NOTES}/post/responses",
    ),
    (
        "API-012",
        lambda s: _note_in(s)["properties"]["title"].pop("maxLength"),
        "/components/schemas/NoteIn/properties/title",
    ),
    (
        "API-013",
        lambda s: _note_in(s)["properties"].update(
            tags={"type": "array", "items": {"type": "string", "maxLength": 5}}
        ),
        "/components/schemas/NoteIn/properties/tags",
    ),
    (
        "API-014",
        lambda s: _note_in(s)["properties"].update(rank={"type": "integer"}),
        "/components/schemas/NoteIn/properties/rank",
    ),
    ("API-015", lambda s: _note_in(s).pop("additionalProperties"), "/components/schemas/NoteIn"),
    (
        "API-016",
        lambda s: s["paths"].update(
            {"/v1/admin/purge": {"post": {**copy.deepcopy(_op(s)), "operationId": "purge"}}}
        ),
        "/paths/~1v1~1admin~1purge/post",
    ),
    (
        "API-017",
        lambda s: _op(s, "/v1/notes/{note_id}", "get")["parameters"][0].update(
            schema={"type": "integer", "minimum": 1, "maximum": 10**9}
        ),
        "/paths/~1v1~1notes~1{note_id}/get/parameters/0",
    ),
    (
        "API-018",
        lambda s: _op(s)["responses"]["400"].update(
            content={"application/json": {"schema": {"type": "object"}}}
        ),
        f"{NOTES}/post/responses/400",
    ),
    (
        "API-019",
        lambda s: s.update(paths={k.replace("/v1", ""): v for k, v in s["paths"].items()}),
        "/paths/~1notes",
    ),
    ("API-020", lambda s: s["info"].pop("contact"), "/info"),
    # Duplicate operationIds already fail validation (API-000); a missing one is lint's to find.
    (
        "API-021",
        lambda s: _op(s, "/v1/search", "get").pop("operationId"),
        "/paths/~1v1~1search/get",
    ),
    ("API-023", lambda s: _op(s).update(security=[]), f"{NOTES}/post"),
    (
        "API-024",
        lambda s: _note_in(s)["properties"].update(
            callback_url={"type": "string", "format": "uri", "maxLength": 200}
        ),
        "/components/schemas/NoteIn/properties/callback_url",
    ),
    ("API-025", lambda s: s.update(servers=[{"url": "https://10.0.0.5"}]), "/servers/0/url"),
    (
        "API-026",
        lambda s: s["components"]["schemas"]["Note"]["properties"].update(
            api_key={"type": "string", "maxLength": 40}
        ),
        "/components/schemas/Note/properties/api_key",
    ),
    (
        "API-027",
        lambda s: (
            s["components"]["schemas"]["Note"].pop("additionalProperties")
            or s["components"]["schemas"]["Note"]["properties"].update(
                email={"type": "string", "maxLength": 254}
            )
        ),
        "/components/schemas/Note",
    ),
    (
        "API-028",
        lambda s: _note_in(s)["properties"].update(owner_id={"type": "string", "maxLength": 36}),
        "/components/schemas/NoteIn/properties/owner_id",
    ),
    ("API-029", lambda s: _op(s).update({"x-internal": True}), f"{NOTES}/post"),
    (
        "API-030",
        lambda s: s["servers"].append({"url": "https://notes.staging.example.police.uk"}),
        "/servers/1",
    ),
    ("API-031", lambda s: _op(s).update(deprecated=True), f"{NOTES}/post/deprecated"),
    (
        "API-032",
        lambda s: _note_in(s)["properties"].update(rank={"type": "integer", "minimum": 0}),
        "/components/schemas/NoteIn/properties/rank",
    ),
    ("API-033", lambda s: s.update(paths={}), "/paths"),
]


@pytest.mark.parametrize(("rule_id", "mutate", "where"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_a_rule_fires_on_its_fault(rule_id: str, mutate, where: str, tmp_path: Path) -> None:
    spec = build_spec(flawed=False)
    mutate(spec)
    findings = _lint(spec, tmp_path)
    hits = [f for f in findings if f.code == rule_id]
    assert hits, f"{rule_id} did not fire"
    assert where in {f.evidence["pointer"] for f in hits}
    assert hits[0].evidence["owasp"] == rule_book().rules[rule_id].owasp


def test_every_rule_is_exercised_by_a_mutation() -> None:
    assert {m[0] for m in MUTATIONS} == set(RULES)


def test_pagination_tokens_are_not_credentials(tmp_path: Path) -> None:
    spec = build_spec(flawed=False)
    _op(spec, "/v1/search", "get")["parameters"].append(
        {"name": "PageToken", "in": "query", "schema": {"type": "string", "maxLength": 64}}
    )
    assert not [f for f in _lint(spec, tmp_path) if f.code == "API-004"]


def test_cyclic_refs_are_linted_without_hanging(tmp_path: Path) -> None:
    spec = build_spec(flawed=False)
    _note_in(spec)["properties"]["parent"] = {"$ref": "#/components/schemas/NoteIn"}
    assert _lint(spec, tmp_path) == []
