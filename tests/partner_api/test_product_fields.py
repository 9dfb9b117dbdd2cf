"""A product's fields are defined once: the portal's form and the partner API accept and refuse
the same product, with the same limits, and the published schema names the shared vocabularies."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kernel.errors import ValidationFailed
from partner_api.models import ProductIn
from posture.scoring.bands import band_names
from supplier_portal.forms import ProductForm, parse_form
from supplier_portal.vocabulary import (
    CertificationScheme,
    DataLocation,
    DeploymentModel,
    ProductCategory,
    SecurityClassification,
    values,
)
from tests.partner_api.conftest import bearer
from tests.partner_api.world import ApiWorld

BASE = {"category": "digital_evidence", "deployment_model": "saas"}
CERTIFICATE = {"scheme": "iso27001", "expires": "2027-06-01"}

# (what the supplier sends, whether it is a valid product)
CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"data_locations": values(DataLocation)}, True),
    ({"data_locations": ["uk", "eea", "us", "other", "uk"]}, False),
    ({"data_locations": ["mars"]}, False),
    ({"data_locations": "uk"}, False),
    # OFFICIAL-SENSITIVE is OFFICIAL with the SENSITIVE caveat, not a classification.
    ({"max_classification": "official-sensitive"}, False),
    ({"max_classification": "official", "sensitive_caveat": True}, True),
    ({"sensitive_caveat": True}, True),
    ({"sensitive_caveat": "true"}, False),
    ({"max_classification": "top-secret"}, True),
    ({"max_classification": "restricted"}, False),
    ({"police_networks": ["pnn", "psn"]}, True),
    ({"police_networks": ["pnn", "pnn"]}, False),
    ({"police_networks": ["janet"]}, False),
    ({"national_systems": ["pnd", "pnc", "leds"]}, True),
    ({"national_systems": ["pnd", "pnd"]}, False),
    ({"vetting": "nppv3"}, True),
    ({"vetting": "top"}, False),
    ({"forces_served": 43, "records_held": 2_000_000}, True),
    ({"forces_served": -1}, False),
    ({"forces_served": 101}, False),
    ({"forces_served": "43"}, False),
    ({"forces_served": 4.5}, False),
    # JSON Schema counts 2.0 as an integer, so the API takes it as 2.
    ({"forces_served": 2.0}, True),
    ({"records_held": 10**13}, False),
    ({"certifications": [CERTIFICATE] * 5}, True),
    ({"certifications": [CERTIFICATE] * 6}, False),
    ({"certifications": [{"scheme": "iso9001", "expires": "2027-06-01"}]}, False),
    ({"certifications": [{"scheme": "iso27001", "expires": 20270601}]}, False),
    ({"certifications": [{"scheme": "iso27001", "expires": "0"}]}, False),
    ({"support_ends": "2030-03-31", "end_of_life": "2032-03-31"}, True),
    ({"support_ends": "2030-03-31T00:00:00"}, False),
    ({"description": "x" * 5000}, True),
    ({"description": "x" * 5001}, False),
    ({"name": " Padded"}, False),
    ({"name": "Bell\x07"}, False),
    ({"name": "x" * 201}, False),
    ({"version": "4.2.1-lts"}, True),
    ({"version": "x" * 65}, False),
    ({"version": ""}, False),
    ({"api_available": True}, True),
    ({"api_available": 1}, False),
    ({"api_available": "true"}, False),
    ({"connected_networks": [f"PSN {n}" for n in range(10)]}, True),
    ({"connected_networks": [f"PSN {n}" for n in range(11)]}, False),
    ({"connected_networks": ["PSN/Police"]}, False),
    ({"category": "drones"}, False),
    ({"colour": "blue"}, False),
]


def _form_accepts(product: dict[str, Any]) -> bool:
    try:
        parse_form(ProductForm, product)
    except ValidationFailed:
        return False
    return True


def test_the_form_and_the_api_accept_and_refuse_the_same_products(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    organisation_id = prepared.world.orgs["s1"].organisation_id
    for number, (changes, valid) in enumerate(CASES):
        product = {"name": f"Case {number}", **BASE, **changes}
        sent = client.post(
            "/v1/products",
            json={**product, "organisation_id": organisation_id},
            headers=bearer(prepared, "s1"),
        )
        assert (_form_accepts(product), sent.status_code) == (
            (True, 201) if valid else (False, 422)
        ), (changes, sent.text)


def test_the_api_body_is_the_form_plus_the_organisation() -> None:
    form = ProductForm.model_json_schema()
    body = ProductIn.model_json_schema()
    assert body["properties"].pop("organisation_id")["minimum"] == 1
    assert body["properties"] == form["properties"]
    assert body["$defs"] == form["$defs"]
    assert set(body["required"]) - set(form["required"]) == {"organisation_id"}


@pytest.mark.parametrize(
    ("schema", "vocabulary"),
    [
        ("DataLocation", values(DataLocation)),
        ("CertificationScheme", values(CertificationScheme)),
        ("SecurityClassification", values(SecurityClassification)),
        ("ProductCategory", values(ProductCategory)),
        ("DeploymentModel", values(DeploymentModel)),
        ("PostureBand", list(band_names())),
    ],
)
def test_the_published_enums_are_the_vocabularies(
    api: tuple[TestClient, ApiWorld], schema: str, vocabulary: list[str]
) -> None:
    client, _ = api
    published = client.get("/openapi.json").json()["components"]["schemas"]
    assert published[schema]["enum"] == vocabulary


def test_the_sensitive_caveat_on_secret_is_a_conflict_that_writes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    """Two fields that disagree: the schema cannot say so, so the API answers 409, not 422."""
    client, prepared = api
    organisation_id = prepared.world.orgs["s1"].organisation_id
    product = {"name": "Secret Vault", **BASE, "max_classification": "secret"}
    sent = client.post(
        "/v1/products",
        json={**product, "sensitive_caveat": True, "organisation_id": organisation_id},
        headers=bearer(prepared, "s1"),
    )
    assert sent.status_code == 409, sent.text
    assert "applies to OFFICIAL only, not SECRET" in sent.json()["detail"]
    listed = client.get("/v1/products", headers=bearer(prepared, "s1")).json()
    assert "Secret Vault" not in [p["name"] for p in listed["items"]]
    created = client.post(
        "/v1/products",
        json={**product, "organisation_id": organisation_id},
        headers=bearer(prepared, "s1"),
    )
    assert created.status_code == 201, created.text
    before = client.get(f"/v1/products/{created.json()['id']}", headers=bearer(prepared, "s1"))
    changed = client.patch(
        f"/v1/products/{created.json()['id']}",
        json={"sensitive_caveat": True},
        headers=bearer(prepared, "s1"),
    )
    assert changed.status_code == 409, changed.text
    after = client.get(f"/v1/products/{created.json()['id']}", headers=bearer(prepared, "s1"))
    assert after.json() == before.json()


def test_a_version_with_spaces_at_either_end_is_a_conflict_that_writes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    organisation_id = prepared.world.orgs["s1"].organisation_id
    product = {
        "name": "Padded Version",
        **BASE,
        "version": " 4.2",
        "organisation_id": organisation_id,
    }
    sent = client.post("/v1/products", json=product, headers=bearer(prepared, "s1"))
    assert sent.status_code == 409, sent.text
    assert "must not begin or end with a space" in sent.json()["detail"]
    listed = client.get("/v1/products", headers=bearer(prepared, "s1")).json()
    assert "Padded Version" not in [p["name"] for p in listed["items"]]
