"""A force's deployments over the partner API: it deploys a listed product with what its use adds
and reads back the profile the deployment needs; changing the use is a 200, the first deployment
a 201; an unlisted product is a 409, a hostile body a 422, another force and a supplier are
refused; and none of those writes anything."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Deployment
from tests.partner_api.conftest import bearer
from tests.partner_api.test_risk_api import _second_force
from tests.partner_api.world import ApiWorld
from tests.risk_register.listing import list_product

CRITICAL = "supplier-critical-national"


def _counts(client: TestClient) -> tuple[int, int]:
    with client.app.state.runtime.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Deployment)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def _url(prepared: ApiWorld, product_id: int | None = None) -> str:
    f1 = prepared.world.orgs["f1"].organisation_id
    base = f"/v1/risk/organisations/{f1}/deployments"
    return base if product_id is None else f"{base}/{product_id}"


def _listed(client: TestClient, prepared: ApiWorld) -> int:
    product_id = prepared.world.orgs["s1"].product_id
    assert product_id is not None
    with transaction(client.app.state.runtime.sessions) as session:
        list_product(session, product_id)
    return product_id


def test_a_force_deploys_with_its_use_and_reads_what_the_deployment_needs(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    headers = bearer(prepared, "force")
    first = client.put(_url(prepared, product_id), json={}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["required_profile"] == "supplier-saas"
    assert first.json()["reached"] is True

    use = {"police_networks": ["pnn"], "national_systems": ["pnc"], "records_held": 3.0}
    changed = client.put(_url(prepared, product_id), json=use, headers=headers)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["required_profile"] == CRITICAL
    assert body["because"] == f"{CRITICAL} because it has access to PNC"
    assert body["use"]["records_held"] == 3
    assert body["assessed_profile"] == "supplier-saas"
    assert body["reached"] is False
    listed = client.get(_url(prepared), headers=headers)
    assert listed.status_code == 200
    assert listed.json() == [body]


@pytest.mark.parametrize(
    "body",
    [
        {"classification": "OFFICIAL"},
        {"police_networks": ["pnn", "pnn"]},
        {"police_networks": "pnn"},
        {"records_held": -5},
        {"records_held": 1.5},
        {"records_held": "7"},
        {"sensitive_caveat": "yes"},
        {"hosting": "saas"},
        {"national_systems": ["pnd"] * 10_000},
    ],
)
def test_a_hostile_use_is_422_and_writes_nothing(
    api: tuple[TestClient, ApiWorld], body: Any
) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    before = _counts(client)
    refused = client.put(_url(prepared, product_id), json=body, headers=bearer(prepared, "force"))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert _counts(client) == before


def test_the_caveat_with_secret_is_409_and_writes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    before = _counts(client)
    body = {"classification": "secret", "sensitive_caveat": True}
    refused = client.put(_url(prepared, product_id), json=body, headers=bearer(prepared, "force"))
    assert refused.status_code == 409, refused.text
    assert "OFFICIAL only" in refused.json()["detail"]
    assert _counts(client) == before


def test_an_unlisted_product_is_not_found_like_a_missing_one(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product_id = prepared.world.orgs["s1"].product_id
    before = _counts(client)
    refused = client.put(_url(prepared, product_id), json={}, headers=bearer(prepared, "force"))
    # Told apart from no product by nothing: a force sees only listed or accepted products.
    missing = client.put(_url(prepared, 2_000_000), json={}, headers=bearer(prepared, "force"))
    assert (refused.status_code, missing.status_code) == (404, 404), refused.text
    assert refused.json()["detail"] == missing.json()["detail"] == "product not found"
    assert "Vault" not in refused.text
    assert _counts(client) == before


def test_another_force_and_a_supplier_are_refused(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    assert client.put(_url(prepared, product_id), json={}, headers=bearer(prepared, "force"))
    _, other = _second_force(client)
    before = _counts(client)
    for headers in (other, bearer(prepared, "s1"), bearer(prepared, "s2")):
        for method, url, body in [
            ("GET", _url(prepared), None),
            ("PUT", _url(prepared, product_id), {"police_networks": ["pnn"]}),
        ]:
            refused = client.request(method, url, json=body, headers=headers)
            assert refused.status_code in (403, 404), (url, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
    assert _counts(client) == before


def test_twenty_puts_at_once_make_one_deployment(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    headers = bearer(prepared, "force")

    def put(n: int) -> int:
        body = {"records_held": 100 + n}
        return client.put(_url(prepared, product_id), json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(put, range(20)))
    assert sorted(statuses) == [200] * 19 + [201]
    deployments, _ = _counts(client)
    assert deployments == 1
