"""The risk register over the partner API: a force's assessor raises, treats and reads back its
own scenarios; another force, a supplier and a token without the write scope are refused; a
hostile body is a 422 with nothing written; concurrent treatments all land."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posture.audit import verify_chain
from posture.identity.tokens import issue_token, signing_key
from posture.portfolio.deployments import deploy_product
from posture.storage.engine import transaction
from posture.storage.models import (
    AuditEvent,
    Finding,
    Organisation,
    RiskAction,
    RiskEvidenceLink,
    RiskScenario,
    RiskTreatment,
    User,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from tests.partner_api.conftest import bearer
from tests.partner_api.world import ApiWorld
from tests.risk_register.listing import list_product

MODELS = (RiskScenario, RiskEvidenceLink, RiskTreatment, RiskAction, AuditEvent)


def _counts(client: TestClient) -> dict[str, int]:
    with client.app.state.runtime.sessions() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in MODELS
        }


def _token(client: TestClient, user_id: int, scopes: list[str]) -> dict[str, str]:
    runtime = client.app.state.runtime
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        token, _ = issue_token(session, None, signing_key(runtime.settings), user, scopes, 30)
    return {"Authorization": f"Bearer {token}"}


def _second_force(client: TestClient) -> tuple[int, dict[str, str]]:
    """Another force with its own assessor, holding every risk scope."""
    with transaction(client.app.state.runtime.sessions) as session:
        org = Organisation(slug="f-other", name="Other Force", kind="force")
        user = User(email="assessor@f-other.police.uk", display_name="other assessor")
        session.add_all([org, user])
        session.flush()
        session.add(
            MembershipRow(user_id=user.id, organisation_id=org.id, role=Role.FORCE_ASSESSOR)
        )
        org_id, user_id = org.id, user.id
    return org_id, _token(client, user_id, ["risks:read", "risks:write"])


def _deploy_s1(client: TestClient, prepared: ApiWorld) -> str:
    """f1 deploys s1's product; the ref of the open finding of s1's check run."""
    world = prepared.world
    f1 = world.orgs["f1"].organisation_id
    with transaction(client.app.state.runtime.sessions) as session:
        list_product(session, world.orgs["s1"].product_id)
        deploy_product(
            session, world.principal(Role.FORCE_ASSESSOR), f1, world.orgs["s1"].product_id
        )
        finding_id = session.scalar(
            select(Finding.id).where(Finding.check_run_id == world.orgs["s1"].check_run_id)
        )
    return f"finding:{finding_id}"


def _scenario_body(prepared: ApiWorld, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation_id": prepared.world.orgs["f1"].organisation_id,
        "subject_kind": "organisation",
        "title": "Control room loses its case files",
        "threat": "data-breach",
        "threat_text": "An organised crime group seeks case files.",
        "vulnerability_text": "Shared accounts on the control room terminals.",
        "inherent_likelihood": "likely",
        "inherent_impact": "major",
        "current_impact": "major",
    }
    return body | changes


def _raise(client: TestClient, prepared: ApiWorld, **changes: Any) -> dict[str, Any]:
    created = client.post(
        "/v1/risk/scenarios",
        json=_scenario_body(prepared, **changes),
        headers=bearer(prepared, "force"),
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_a_force_assessor_raises_treats_and_reads_back_its_scenario(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    ref = _deploy_s1(client, prepared)
    headers = bearer(prepared, "force")
    product_id = prepared.world.orgs["s1"].product_id
    created = client.post(
        "/v1/risk/scenarios",
        json=_scenario_body(
            prepared,
            subject_kind="deployment",
            product_id=product_id,
            evidence=[{"kind": "finding", "ref": ref}],
        ),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    scenario = created.json()
    assert created.headers["Location"] == f"/v1/risk/scenarios/{scenario['id']}"
    assert scenario["supplier_id"] == prepared.world.orgs["s1"].organisation_id
    # The likelihood was left to the platform: the current rating is its suggestion.
    assert scenario["current"]["likelihood"] == scenario["suggestion"]["likelihood"]

    treatment = client.post(
        f"/v1/risk/scenarios/{scenario['id']}/treatments",
        json={"kind": "mitigate", "description": "Patch the gateway and rotate the keys"},
        headers=headers,
    )
    assert treatment.status_code == 201, treatment.text
    action = client.post(
        f"/v1/risk/treatments/{treatment.json()['id']}/actions",
        json={
            "title": "Upgrade the TLS gateway",
            "responsible": "Head of digital",
            "due_on": "2027-03-31",
            "addresses": ["A4.b", "PQC-TLS-001"],
        },
        headers=headers,
    )
    assert action.status_code == 201, action.text
    moved = client.post(
        f"/v1/risk/actions/{action.json()['id']}/status",
        json={"status": "in_progress"},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "in_progress"

    read = client.get(f"/v1/risk/scenarios/{scenario['id']}", headers=headers).json()
    assert read["status"] == "treating"
    assert [(e["ref"], e["state"]) for e in read["evidence"]] == [(ref, "current")]
    assert read["suggestion"]["explanation"].startswith(read["suggestion"]["likelihood"])
    assert read["inherent"]["likelihood"] == "likely"
    assert read["residual"] is None
    assert read["acceptance"] is None
    [treated] = read["treatments"]
    assert treated["kind"] == "mitigate"
    assert [
        (a["title"], a["responsible"], a["status"], a["addresses"]) for a in treated["actions"]
    ] == [("Upgrade the TLS gateway", "Head of digital", "in_progress", ["A4.b", "PQC-TLS-001"])]

    listed = client.get(f"/v1/risk/scenarios?product_id={product_id}", headers=headers).json()
    assert [item["id"] for item in listed["items"]] == [scenario["id"]]
    assert listed["total"] == 1
    f1 = prepared.world.orgs["f1"].organisation_id
    heatmap = client.get(f"/v1/risk/organisations/{f1}/heatmap", headers=headers).json()
    assert len(heatmap["cells"]) == 25
    occupied = [(c["likelihood"], c["impact"], c["count"]) for c in heatmap["cells"] if c["count"]]
    assert occupied == [(read["current"]["likelihood"], "major", 1)]
    with client.app.state.runtime.sessions() as session:
        assert verify_chain(session).intact


def test_another_force_is_told_the_scenario_does_not_exist(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    scenario = _raise(client, prepared)
    treatment = client.post(
        f"/v1/risk/scenarios/{scenario['id']}/treatments",
        json={"kind": "mitigate", "description": "Retire the shared accounts"},
        headers=bearer(prepared, "force"),
    ).json()
    other_org, other = _second_force(client)
    before = _counts(client)
    f1 = prepared.world.orgs["f1"].organisation_id
    for method, url, body in [
        ("GET", f"/v1/risk/scenarios/{scenario['id']}", None),
        (
            "POST",
            f"/v1/risk/scenarios/{scenario['id']}/treatments",
            {"kind": "avoid", "description": "Planted by another force"},
        ),
        (
            "POST",
            f"/v1/risk/treatments/{treatment['id']}/actions",
            {"title": "Planted action", "responsible": "Someone else", "due_on": "2027-01-01"},
        ),
        ("GET", f"/v1/risk/organisations/{f1}/heatmap", None),
        ("POST", "/v1/risk/scenarios", _scenario_body(prepared)),
    ]:
        refused = client.request(method, url, json=body, headers=other)
        assert refused.status_code == 404, (url, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert _counts(client) == before
    listed = client.get(f"/v1/risk/scenarios?organisation_id={f1}", headers=other).json()
    assert listed["items"] == []
    assert listed["total"] == 0
    # Its own register works: the refusals above were about tenancy, not the token.
    own = client.post(
        "/v1/risk/scenarios",
        json=_scenario_body(prepared, organisation_id=other_org),
        headers=other,
    )
    assert own.status_code == 201, own.text


def test_a_supplier_is_refused_every_risk_operation(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    scenario = _raise(client, prepared)
    f1 = prepared.world.orgs["f1"].organisation_id
    before = _counts(client)
    for who in ("s1", "s2"):
        for method, url, body in [
            ("GET", "/v1/risk/scenarios", None),
            ("GET", f"/v1/risk/scenarios/{scenario['id']}", None),
            ("GET", f"/v1/risk/organisations/{f1}/heatmap", None),
            ("POST", "/v1/risk/scenarios", _scenario_body(prepared)),
            (
                "POST",
                f"/v1/risk/scenarios/{scenario['id']}/treatments",
                {"kind": "avoid", "description": "A supplier planting a treatment"},
            ),
            ("POST", "/v1/risk/actions/1/status", {"status": "done"}),
        ]:
            refused = client.request(method, url, json=body, headers=bearer(prepared, who))
            assert refused.status_code == 403, (who, url, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
    assert _counts(client) == before


def test_a_token_without_the_write_scope_reads_but_does_not_write(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    scenario = _raise(client, prepared)
    reader = _token(client, prepared.world.users[Role.FORCE_ASSESSOR], ["risks:read"])
    other = _token(client, prepared.world.users[Role.FORCE_ASSESSOR], ["products:read"])
    before = _counts(client)
    assert client.get(f"/v1/risk/scenarios/{scenario['id']}", headers=reader).status_code == 200
    refused = client.post(
        f"/v1/risk/scenarios/{scenario['id']}/treatments",
        json={"kind": "mitigate", "description": "Written with a read-only token"},
        headers=reader,
    )
    assert refused.status_code == 403
    assert "risks:write" in refused.json()["detail"]
    created = client.post("/v1/risk/scenarios", json=_scenario_body(prepared), headers=reader)
    assert created.status_code == 403
    # And a token with other scopes only cannot even read the register.
    assert client.get("/v1/risk/scenarios", headers=other).status_code == 403
    assert _counts(client) == before


SCENARIO_ATTACKS: list[dict[str, Any]] = [
    {"planted": True},
    {"organisation_id": "1"},
    {"title": 12345},
    {"title": "Vault\x00breached"},
    {"title": "Vault \u202ebreached"},
    {"title": "x" * 201},
    {"threat_text": "a" * 4001},
    {"threat": "aliens"},
    {"inherent_likelihood": "sometimes"},
    {"subject_kind": "galaxy"},
    {"evidence": [{"kind": "finding", "ref": f"finding:{n}"} for n in range(10_000)]},
    {"evidence": [{"kind": "finding", "ref": "finding:1", "extra": 1}]},
    {"evidence": "finding:1"},
]


@pytest.mark.parametrize("attack", SCENARIO_ATTACKS, ids=lambda a: next(iter(a)))
def test_a_hostile_scenario_body_is_422_and_writes_nothing(
    api: tuple[TestClient, ApiWorld], attack: dict[str, Any]
) -> None:
    client, prepared = api
    before = _counts(client)
    refused = client.post(
        "/v1/risk/scenarios",
        json=_scenario_body(prepared, **attack),
        headers=bearer(prepared, "force"),
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    # The submitted value is never echoed back.
    assert "\x00" not in refused.text
    assert "aliens" not in refused.text
    assert _counts(client) == before


def test_hostile_treatment_action_and_status_bodies_are_422_and_write_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    headers = bearer(prepared, "force")
    scenario = _raise(client, prepared)
    treatment = client.post(
        f"/v1/risk/scenarios/{scenario['id']}/treatments",
        json={"kind": "mitigate", "description": "Retire the shared accounts"},
        headers=headers,
    ).json()
    action = client.post(
        f"/v1/risk/treatments/{treatment['id']}/actions",
        json={"title": "Issue personal accounts", "responsible": "IT lead", "due_on": "2027-02-01"},
        headers=headers,
    ).json()
    before = _counts(client)
    attacks = [
        (
            f"/v1/risk/scenarios/{scenario['id']}/treatments",
            {"kind": "burn", "description": "x" * 20},
        ),
        (
            f"/v1/risk/scenarios/{scenario['id']}/treatments",
            {"kind": "avoid", "description": "Bell\x07ringing here"},
        ),
        (f"/v1/risk/scenarios/{scenario['id']}/treatments", {"kind": "avoid"}),
        (
            f"/v1/risk/treatments/{treatment['id']}/actions",
            {"title": "Fix", "responsible": "IT", "due_on": "soon"},
        ),
        (
            f"/v1/risk/treatments/{treatment['id']}/actions",
            {
                "title": "Fix it all",
                "responsible": "IT lead",
                "due_on": "2027-01-01",
                "addresses": ["A4.b"] * 51,
            },
        ),
        (f"/v1/risk/treatments/{treatment['id']}/actions", [1, 2, 3]),
        (f"/v1/risk/actions/{action['id']}/status", {"status": "finished"}),
        (f"/v1/risk/actions/{action['id']}/status", {"status": "done", "done_at": "2020-01-01"}),
    ]
    for url, body in attacks:
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 422, (url, body, refused.text)
    assert _counts(client) == before


def test_twenty_concurrent_treatments_of_one_scenario_all_land(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    headers = bearer(prepared, "force")
    scenario = _raise(client, prepared)
    before = _counts(client)

    def treat(n: int) -> int:
        return client.post(
            f"/v1/risk/scenarios/{scenario['id']}/treatments",
            json={"kind": "mitigate", "description": f"Mitigation number {n:02d} of twenty"},
            headers=headers,
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(treat, range(20)))
    assert statuses == [201] * 20
    after = _counts(client)
    assert after["RiskTreatment"] == before["RiskTreatment"] + 20
    assert after["AuditEvent"] == before["AuditEvent"] + 20
    read = client.get(f"/v1/risk/scenarios/{scenario['id']}", headers=headers).json()
    assert sorted(t["description"] for t in read["treatments"]) == [
        f"Mitigation number {n:02d} of twenty" for n in range(20)
    ]
    with client.app.state.runtime.sessions() as session:
        assert verify_chain(session).intact


def test_a_national_assessor_reads_every_forces_scenarios(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    scenario = _raise(client, prepared)
    assessor = bearer(prepared, "assessor")
    listed = client.get("/v1/risk/scenarios", headers=assessor).json()
    assert scenario["id"] in [item["id"] for item in listed["items"]]
    assert client.get(f"/v1/risk/scenarios/{scenario['id']}", headers=assessor).status_code == 200
    # Reading is not writing: a national assessor writes only its own body's register.
    refused = client.post(
        f"/v1/risk/scenarios/{scenario['id']}/treatments",
        json={"kind": "avoid", "description": "A national assessor overriding a force"},
        headers=assessor,
    )
    assert refused.status_code == 404
    missing = client.get("/v1/risk/organisations/999999/heatmap", headers=assessor)
    assert missing.status_code == 404


def test_a_well_formed_request_the_register_refuses_is_409_and_writes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    headers = bearer(prepared, "force")
    scenario = _raise(client, prepared)
    accept = client.post(
        f"/v1/risk/scenarios/{scenario['id']}/treatments",
        json={"kind": "accept", "description": "Carry the risk until the refresh"},
        headers=headers,
    ).json()
    before = _counts(client)
    actioned = client.post(
        f"/v1/risk/treatments/{accept['id']}/actions",
        json={"title": "Nothing to do", "responsible": "IT lead", "due_on": "2027-01-01"},
        headers=headers,
    )
    assert actioned.status_code == 409
    assert "SIRO" in actioned.json()["detail"]
    # A rating that differs from the suggestion without saying why.
    differs = client.post(
        "/v1/risk/scenarios",
        json=_scenario_body(prepared, current_likelihood="almost-certain"),
        headers=headers,
    )
    assert differs.status_code == 409
    assert "differs_because" in differs.json()["detail"]
    assert _counts(client) == before
