"""The target profile over the API: anyone who may see a product reads its derived profile and
why; an assessor raises it with a reason; a supplier cannot; a bad reason is a schema error and
changes nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posture.storage.models import Assessment, AuditEvent, ProfileRaise
from tests.partner_api.conftest import bearer
from tests.partner_api.world import ApiWorld

CRITICAL = "supplier-critical-national"


def _counts(client: TestClient) -> tuple[int, int]:
    with client.app.state.runtime.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(ProfileRaise)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def test_the_derived_profile_is_read_and_raised_by_an_assessor(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product = prepared.world.orgs["s1"].product_id
    url = f"/v1/products/{product}/target-profile"
    read = client.get(url, headers=bearer(prepared, "s1"))
    assert read.status_code == 200, read.text
    assert read.json() == {
        "product_id": product,
        "framework": "ptsbd-1.0",
        "profile_id": "supplier-saas",
        "derived_profile_id": "supplier-saas",
        "because": "supplier-saas because it is hosted as software as a service",
        "raised_reason": None,
    }
    reason = "Will feed the national custody image service"
    raised = client.post(
        f"{url}/raise",
        json={"profile_id": CRITICAL, "reason": reason},
        headers=bearer(prepared, "assessor"),
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["profile_id"] == CRITICAL
    assert raised.json()["derived_profile_id"] == "supplier-saas"
    assert raised.json()["raised_reason"] == reason
    with client.app.state.runtime.sessions() as session:
        profiles = set(
            session.scalars(select(Assessment.profile_id).where(Assessment.product_id == product))
        )
    assert profiles == {CRITICAL}
    # The supplier reads the raise and its reason; it cannot raise or lower it itself.
    seen = client.get(url, headers=bearer(prepared, "s1")).json()
    assert seen["profile_id"] == CRITICAL
    assert seen["because"].startswith(f"{CRITICAL}, raised by an assessor")


def test_refused_raises_change_nothing(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    product = prepared.world.orgs["s1"].product_id
    url = f"/v1/products/{product}/target-profile/raise"
    before = _counts(client)
    cases = [
        ("s1", {"profile_id": CRITICAL, "reason": "My own product, raised by me"}, 403),
        ("force", {"profile_id": CRITICAL, "reason": "A force cannot raise it either"}, 403),
        ("assessor", {"profile_id": CRITICAL, "reason": "short"}, 422),
        ("assessor", {"profile_id": CRITICAL, "reason": "a bell \x07 rings in it"}, 422),
        ("assessor", {"profile_id": CRITICAL, "reason": "x" * 2001}, 422),
        ("assessor", {"profile_id": CRITICAL, "reason": "A reason", "extra": 1}, 422),
        ("assessor", {"profile_id": "supplier-on-premises", "reason": "Lowering is refused"}, 409),
        ("assessor", {"profile_id": "gold", "reason": "Not a profile of the framework"}, 409),
        # Ten characters as sent, nine once trimmed: the schema allows it, the service refuses.
        ("assessor", {"profile_id": CRITICAL, "reason": "\u00a0123456789"}, 409),
        ("assessor", {"profile_id": CRITICAL, "reason": "A reason that ends in a space "}, 409),
        (
            "assessor",
            {"profile_id": CRITICAL, "reason": "Unknown framework", "framework": "iso-9001"},
            409,
        ),
    ]
    for who, body, status in cases:
        sent = client.post(url, json=body, headers=bearer(prepared, who))
        assert sent.status_code == status, (who, body, sent.text)
        assert sent.headers["content-type"] == "application/problem+json"
    assert _counts(client) == before
