"""Editing and withdrawing a product through the API: a partial update keeps what it does not
name, accepts and refuses what registration does, and a refusal changes nothing; withdrawal
happens once, is audited once, and ends editing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posture.storage.models import AuditEvent
from supplier_portal.forms import ProductForm
from tests.partner_api.conftest import bearer
from tests.partner_api.test_product_fields import CASES
from tests.partner_api.world import ApiWorld


def _product(client: TestClient, prepared: ApiWorld) -> dict[str, Any]:
    url = f"/v1/products/{prepared.world.orgs['s1'].product_id}"
    return client.get(url, headers=bearer(prepared, "s1")).json()


def _patch(client: TestClient, prepared: ApiWorld, body: Any, who: str = "s1"):  # type: ignore[no-untyped-def]
    url = f"/v1/products/{prepared.world.orgs['s1'].product_id}"
    return client.patch(url, json=body, headers=bearer(prepared, who))


def _events(client: TestClient, action: str) -> list[dict[str, Any]]:
    with client.app.state.runtime.sessions() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [row.shown_data for row in rows]


def test_the_published_change_body_is_the_form_with_every_field_optional(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, _ = api
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/v1/products/{product_id}"]["patch"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    published = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    form = ProductForm.model_json_schema(ref_template="#/components/schemas/{model}")
    for field in form["properties"].values():
        field.pop("default", None)
    assert published["properties"] == form["properties"]
    assert "required" not in published
    assert published["additionalProperties"] is False


def test_a_partial_update_changes_what_it_names_and_keeps_the_rest(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    before = _product(client, prepared)
    changed = _patch(client, prepared, {"name": "Evidence Vault 2", "data_locations": ["eea"]})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["name"], after["data_locations"]) == ("Evidence Vault 2", ["eea"])
    kept = {k: v for k, v in before.items() if k not in {"name", "data_locations"}}
    assert {k: after[k] for k in kept} == kept
    assert _product(client, prepared) == after
    assert _events(client, "product.updated") == [
        {
            "changed": {
                "name": {"before": before["name"], "after": "Evidence Vault 2"},
                "data_locations": {"before": ["uk"], "after": ["eea"]},
            }
        }
    ]


def test_null_clears_a_field_that_may_be_empty_and_is_refused_for_one_that_may_not(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    assert _patch(client, prepared, {"max_classification": "official"}).status_code == 200
    cleared = _patch(client, prepared, {"max_classification": None})
    assert cleared.json()["max_classification"] is None
    before = _product(client, prepared)
    refused = _patch(client, prepared, {"name": None, "category": "analytics"})
    assert refused.status_code == 422
    assert [e["location"] for e in refused.json()["errors"]] == ["body.name"]
    assert _product(client, prepared) == before


@pytest.mark.parametrize(("changes", "valid"), CASES, ids=[str(c) for c, _ in CASES])
def test_a_change_is_accepted_or_refused_as_registration_is(
    api: tuple[TestClient, ApiWorld], changes: dict[str, Any], valid: bool
) -> None:
    client, prepared = api
    before = _product(client, prepared)
    sent = _patch(client, prepared, changes)
    assert sent.status_code == (200 if valid else 422), sent.text
    if not valid:
        assert sent.headers["content-type"] == "application/problem+json"
        assert _product(client, prepared) == before
        assert _events(client, "product.updated") == []


def test_a_rename_onto_another_of_the_suppliers_products_is_refused(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    other = {
        "organisation_id": prepared.world.orgs["s1"].organisation_id,
        "name": "Custody Vault",
        "category": "other",
        "deployment_model": "saas",
    }
    assert client.post("/v1/products", json=other, headers=bearer(prepared, "s1")).is_success
    before = _product(client, prepared)
    refused = _patch(client, prepared, {"name": "Custody Vault", "description": "renamed"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "you already have a product called 'Custody Vault'"
    assert _product(client, prepared) == before


def test_another_supplier_can_neither_change_nor_withdraw_it(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    before = _product(client, prepared)
    url = f"/v1/products/{prepared.world.orgs['s1'].product_id}"
    changed = _patch(client, prepared, {"name": "Planted"}, who="s2")
    withdrawn = client.post(f"{url}/withdraw", headers=bearer(prepared, "s2"))
    missing = client.post("/v1/products/999999/withdraw", headers=bearer(prepared, "s2"))
    for refused in (changed, withdrawn):
        assert refused.status_code == 404
        # Worded as for a product that does not exist: the refusal reveals nothing.
        assert refused.json() == missing.json()
    assert _product(client, prepared) == before
    assert _events(client, "product.updated") + _events(client, "product.withdrawn") == []


def test_a_token_that_may_only_read_products_changes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    from posture.identity.tokens import issue_token
    from posture.storage.engine import transaction
    from posture.storage.models import User
    from posture.storage.models.enums import Role

    client, prepared = api
    runtime = client.app.state.runtime
    with transaction(runtime.sessions) as session:
        user = session.get(User, prepared.world.users[Role.SUPPLIER_ADMIN])
        assert user is not None
        token, _ = issue_token(session, None, runtime.key, user, ["products:read"], minutes=5)
    url = f"/v1/products/{prepared.world.orgs['s1'].product_id}"
    headers = {"Authorization": f"Bearer {token}"}
    assert client.patch(url, json={"name": "Read Only"}, headers=headers).status_code == 403
    assert client.post(f"{url}/withdraw", headers=headers).status_code == 403
    assert _product(client, prepared)["withdrawn_at"] is None


def test_a_product_is_withdrawn_once_and_can_no_longer_be_edited(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product_id = prepared.world.orgs["s1"].product_id
    url = f"/v1/products/{product_id}/withdraw"
    first = client.post(url, headers=bearer(prepared, "s1"))
    assert first.status_code == 200, first.text
    assert first.json()["withdrawn_at"] is not None
    listed = client.get("/v1/products", headers=bearer(prepared, "s1")).json()
    assert product_id not in [p["id"] for p in listed["items"]]
    # Still readable by its id, saying when it was withdrawn.
    assert _product(client, prepared) == first.json()
    second = client.post(url, headers=bearer(prepared, "s1"))
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert "already withdrawn" in second.json()["detail"]
    edited = _patch(client, prepared, {"description": "after withdrawal"})
    assert edited.status_code == 409
    assert "withdrawn" in edited.json()["detail"]
    assert _product(client, prepared) == first.json()
    assert _events(client, "product.withdrawn") == [{}]
