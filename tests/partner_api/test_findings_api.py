"""Tracked findings over the partner API: the supplier lists its product's open findings with
their age, due date and SLA breach, names an owner and disputes one; the national assessor
decides; another supplier is told nothing exists, a supplier cannot decide, and what the
published schema refuses is a 422 that changes nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posture.storage.models import AuditEvent
from posture.storage.models.enums import Role
from tests.concurrency import in_parallel
from tests.findings.scenario import OLD_TLS, RSA_SUITE, START, run_check
from tests.partner_api.conftest import bearer
from tests.partner_api.world import ApiWorld

REASON = {"reason": "The endpoint is a test harness, never reachable from police networks."}
UPHOLD = {"decision": "uphold", "note": "Checked the network diagram: it is isolated."}


def _opened(client: TestClient, prepared: ApiWorld) -> list[int]:
    sessions = client.app.state.runtime.sessions
    return run_check(sessions, prepared.world, [OLD_TLS, RSA_SUITE], START).opened


def _events(client: TestClient) -> int:
    with client.app.state.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_supplier_disputes_and_the_assessor_upholds(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    ids = _opened(client, prepared)
    product = prepared.world.orgs["s1"].product_id
    listed = client.get(f"/v1/products/{product}/findings", headers=bearer(prepared, "s1"))
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [r["code"] for r in rows] == ["TLS-VER-001", "TLS-SUITE-001"]  # worst first
    assert rows[0]["breached"] is True  # first seen 2 Nov 2026; high findings are due in 30 days
    assert rows[0]["age_days"] >= 30
    finding = ids[0] if rows[0]["id"] == ids[0] else ids[1]

    owner = prepared.world.users[Role.SUPPLIER_ADMIN]
    remedied = client.put(
        f"/v1/findings/{finding}/remediation",
        json={"owner_user_id": owner},
        headers=bearer(prepared, "s1"),
    )
    assert remedied.status_code == 200, remedied.text
    assert remedied.json()["status"] == "in_remediation"

    disputed = client.post(
        f"/v1/findings/{finding}/dispute", json=REASON, headers=bearer(prepared, "s1")
    )
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "disputed"
    # The supplier cannot decide its own dispute; the national assessor can.
    mine = client.post(
        f"/v1/findings/{finding}/decision", json=UPHOLD, headers=bearer(prepared, "s1")
    )
    assert mine.status_code == 403
    decided = client.post(
        f"/v1/findings/{finding}/decision", json=UPHOLD, headers=bearer(prepared, "assessor")
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "false_positive"
    still_open = client.get(f"/v1/products/{product}/findings", headers=bearer(prepared, "s1"))
    assert [r["code"] for r in still_open.json()] == ["TLS-SUITE-001"]


def test_another_supplier_gets_not_found_and_changes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    finding = _opened(client, prepared)[0]
    before = _events(client)
    product = prepared.world.orgs["s1"].product_id
    for method, url, body in (
        ("GET", f"/v1/products/{product}/findings", None),
        ("POST", f"/v1/findings/{finding}/dispute", REASON),
        ("PUT", f"/v1/findings/{finding}/remediation", {"owner_user_id": 1}),
    ):
        refused = client.request(method, url, json=body, headers=bearer(prepared, "s2"))
        assert refused.status_code == 404, (url, refused.text)
    assert _events(client) == before


def test_hostile_requests_are_refused_before_anything_changes(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    finding = _opened(client, prepared)[0]
    before = _events(client)
    s1 = bearer(prepared, "s1")
    for body in (
        {"reason": "x" * 2_001},
        {"reason": REASON["reason"], "status": "resolved"},
        {},
    ):
        refused = client.post(f"/v1/findings/{finding}/dispute", json=body, headers=s1)
        assert refused.status_code == 422, (body, refused.text)
    # Hidden characters are taken out, and what is left is too short to be a reason.
    hidden = client.post(
        f"/v1/findings/{finding}/dispute", json={"reason": "\u202e\u0000" * 9 + "no"}, headers=s1
    )
    assert hidden.status_code == 409, hidden.text
    assert "\u202e" not in hidden.text
    for url in ("/v1/findings/2147483648/dispute", "/v1/findings/0/dispute"):
        assert client.post(url, json=REASON, headers=s1).status_code == 404
    unknown = client.post("/v1/findings/2147483647/dispute", json=REASON, headers=s1)
    assert unknown.status_code == 404
    late = client.put(
        f"/v1/findings/{finding}/remediation",
        json={"owner_user_id": prepared.world.users[Role.SUPPLIER_ADMIN], "due_on": "2099-01-01"},
        headers=s1,
    )
    assert late.status_code == 409
    assert _events(client) == before


def test_twenty_disputes_at_once_record_one(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    finding = _opened(client, prepared)[0]
    s1 = bearer(prepared, "s1")
    answers = in_parallel(
        client.app.state.runtime.sessions,
        [
            lambda _session: (
                client.post(f"/v1/findings/{finding}/dispute", json=REASON, headers=s1).status_code
            )
            for _ in range(20)
        ],
    )
    assert sorted(answers) == [200] + [409] * 19  # type: ignore[type-var]


def test_hidden_characters_are_taken_out_of_a_dispute_reason(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    finding = _opened(client, prepared)[0]
    said = "Not ours \u202eat all\u0000, the host is a test harness"
    disputed = client.post(
        f"/v1/findings/{finding}/dispute", json={"reason": said}, headers=bearer(prepared, "s1")
    )
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["dispute_reason"] == "Not ours at all, the host is a test harness"
