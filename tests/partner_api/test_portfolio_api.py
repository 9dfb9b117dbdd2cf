"""A force's portfolio over the partner API: PUT carries the portfolio record with the use; the
export (CSV or XLSX) imports back unchanged; an import with a bad row is a 409 listing each row
and changes nothing; another force's portfolio is out of reach, and a hostile file is refused
as one."""

from __future__ import annotations

import io

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posture.storage.models import AuditEvent, Deployment
from tests.partner_api.conftest import bearer
from tests.partner_api.test_deployment_api import _listed, _url
from tests.partner_api.test_risk_api import _second_force
from tests.partner_api.world import ApiWorld

RECORD = {
    "classification": "official",
    "product_version": "4.2.1",
    "criticality": "mission-critical",
    "internet_facing": True,
    "contract_start": "2025-04-01",
    "contract_end": "2028-03-31",
    "renewal_notice_days": 180,
    "owner": "Head of Control Room Systems",
    "sub_suppliers": ["Acme Hosting", "Northern Cloud"],
}


def _counts(client: TestClient) -> tuple[int, int]:
    with client.app.state.runtime.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Deployment)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def _portfolio(prepared: ApiWorld, organisation_id: int | None = None) -> str:
    f1 = organisation_id or prepared.world.orgs["f1"].organisation_id
    return f"/v1/risk/organisations/{f1}/portfolio"


def _imports(prepared: ApiWorld, organisation_id: int | None = None) -> str:
    return _portfolio(prepared, organisation_id) + "-imports"


def _file(data: bytes, name: str = "portfolio.csv") -> dict:
    return {"file": (name, data, "application/octet-stream")}


def test_the_record_travels_with_the_deployment_and_round_trips_as_a_spreadsheet(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    headers = bearer(prepared, "force")
    put = client.put(_url(prepared, product_id), json=RECORD, headers=headers)
    assert put.status_code == 201, put.text
    body = put.json()
    assert body["portfolio"]["criticality"] == "mission-critical"
    assert body["portfolio"]["sub_suppliers"] == ["Acme Hosting", "Northern Cloud"]
    assert body["renewal_notice_on"] == "2027-10-03"

    exported = client.get(_portfolio(prepared), headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(exported.text), dtype=str, keep_default_na=False)
    assert frame.loc[0, "owner"] == "Head of Control Room Systems"
    assert frame.loc[0, "sub_suppliers"] == "Acme Hosting; Northern Cloud"
    before = _counts(client)
    again = client.post(_imports(prepared), files=_file(exported.content), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == {"deployed": [], "changed": [], "unchanged": [product_id]}
    # The unchanged import is itself on record; nothing else is.
    assert _counts(client) == (before[0], before[1] + 1)

    xlsx = client.get(_portfolio(prepared), params={"format": "xlsx"}, headers=headers)
    assert xlsx.status_code == 200
    assert xlsx.content.startswith(b"PK\x03\x04")
    edited = pd.read_excel(io.BytesIO(xlsx.content), dtype=str, keep_default_na=False)
    edited.loc[0, "criticality"] = "Administrative"
    out = io.BytesIO()
    edited.to_excel(out, index=False)
    changed = client.post(
        _imports(prepared), files=_file(out.getvalue(), "portfolio.xlsx"), headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["changed"] == [product_id]
    listed = client.get(_url(prepared), headers=headers).json()
    assert listed[0]["portfolio"]["criticality"] == "administrative"


def test_an_import_with_a_bad_row_is_a_409_naming_rows_and_changes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    headers = bearer(prepared, "force")
    data = (
        "product_id,criticality,contract_start,contract_end\n"
        f"{product_id},administrative,2025-01-01,2026-01-01\n"
        f"{product_id + 1000},vital,2026-01-01,2025-01-01\n"
    ).encode()
    before = _counts(client)
    refused = client.post(_imports(prepared), files=_file(data), headers=headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["detail"].startswith("nothing was imported: 1 row(s) have problems")
    assert [e["location"] for e in problem["errors"]] == ["row 3"]
    assert "criticality" in problem["errors"][0]["message"]
    assert _counts(client) == before


def test_hostile_files_are_refused_as_such_and_change_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    headers = bearer(prepared, "force")
    before = _counts(client)
    for data in (
        b"\xd0\xcf\x11\xe0" + b"\x00" * 100,  # a legacy .xls
        b"product_id\n" + b"1\n" * 3000,  # more rows than a portfolio has
        "product\ncaf\u00e9\n".encode("cp1252"),
        b"PK\x03\x04garbage",
    ):
        refused = client.post(_imports(prepared), files=_file(data), headers=headers)
        assert refused.status_code == 409, refused.text
        assert "cannot be imported" in refused.json()["detail"]
    assert _counts(client) == before


def test_another_forces_portfolio_is_out_of_reach(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    client.put(_url(prepared, product_id), json=RECORD, headers=bearer(prepared, "force"))
    _, other = _second_force(client)
    before = _counts(client)
    read = client.get(_portfolio(prepared), headers=other)
    assert read.status_code in (403, 404)
    assert "Control Room" not in read.text
    wrote = client.post(
        _imports(prepared), files=_file(f"product_id\n{product_id}\n".encode()), headers=other
    )
    assert wrote.status_code in (403, 404)
    assert _counts(client) == before


def test_fields_that_disagree_are_a_conflict_not_a_malformed_request(
    api: tuple[TestClient, ApiWorld],
) -> None:
    """Each of these bodies matches the published schema, so it is a 409 naming the clash, and
    nothing is written; a body the schema refuses is a 422."""
    client, prepared = api
    product_id = _listed(client, prepared)
    headers = bearer(prepared, "force")
    before = _counts(client)
    for body, said in (
        ({"contract_start": "2026-01-01", "contract_end": "2025-01-01"}, "ends before it starts"),
        ({"renewal_notice_days": 30}, "give the contract's end date too"),
        ({"sub_suppliers": ["Acme Cloud", "acme  cloud"]}, "listed twice"),
    ):
        refused = client.put(_url(prepared, product_id), json=body, headers=headers)
        assert refused.status_code == 409, refused.text
        assert said in refused.json()["detail"]
    malformed = client.put(
        _url(prepared, product_id), json={"sub_suppliers": ["Acme; Cloud"]}, headers=headers
    )
    assert malformed.status_code == 422
    assert _counts(client) == before
    document = client.get("/openapi.json").json()
    items = document["components"]["schemas"]["DeploymentIn"]["properties"]["sub_suppliers"]
    assert items["items"]["pattern"].endswith(";]*$")
