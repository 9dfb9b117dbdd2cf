"""Passports over the partner API. Anyone, with no token, fetches the keys and the signed
revocation list and verifies a passport file byte for byte (twenty at once alike); a national
assessor suspends one and verification says so at once; a force relies on a valid passport for
its deployment and the national view counts the assessment it saved."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from posture.passport.document import verify_offline
from posture.passport.policy import passport_policy
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from posture.storage.models import Passport
from pq_crypto.attestation import PublicKeys
from tests.partner_api.conftest import bearer
from tests.partner_api.test_deployment_api import _listed, _url
from tests.partner_api.world import ApiWorld
from tests.passport.conftest import accept_in_full


def issue_s1_passport(client: TestClient, prepared: ApiWorld) -> tuple[str, bytes]:
    runtime = client.app.state.runtime
    with transaction(runtime.sessions) as session:
        accept_in_full(
            session,
            prepared.world,
            prepared.world.orgs["s1"].submitted_assessment_id,
            platform_keys(runtime.settings),
        )
    with runtime.sessions() as session:
        passport = session.scalars(select(Passport)).one()
        return passport.number, passport.document


def test_anyone_verifies_a_passport_with_the_published_keys_and_list(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    number, document = issue_s1_passport(client, prepared)
    keys = client.get("/v1/passport-keys")
    assert keys.status_code == 200
    trusted = PublicKeys.from_document(keys.json())
    listed = client.get("/v1/passport-revocations")
    assert listed.status_code == 200
    policy = passport_policy()
    offline = verify_offline(
        document,
        trusted,
        listed.content,
        datetime.now(UTC),
        policy.max_document_bytes,
        policy.max_revocation_list_bytes,
    )
    assert offline.valid, offline.reasons

    owner = client.get(f"/v1/passports/{number}/document", headers=bearer(prepared, "s1"))
    assert owner.content == document
    verdict = client.post("/v1/passport-verifications", content=owner.content)
    assert verdict.status_code == 200
    assert (verdict.json()["valid"], verdict.json()["number"]) == (True, number)

    # The same content, spaced differently, is not the file that was signed.
    respaced = json.dumps(json.loads(document), indent=1).encode()
    refused = client.post("/v1/passport-verifications", content=respaced)
    assert (refused.json()["state"], refused.json()["valid"]) == ("invalid", False)
    assert "not exactly as signed" in refused.json()["reasons"][0]
    for outside in (b"[]", b"not json", b'{"passport": {}, "signature": {}}', b""):
        malformed = client.post("/v1/passport-verifications", content=outside)
        assert malformed.status_code == 422, outside
    oversized = client.post(
        "/v1/passport-verifications", content=b" " * (policy.max_document_bytes + 10)
    )
    assert oversized.status_code in {200, 413}
    if oversized.status_code == 200:
        assert "larger than" in oversized.json()["reasons"][0]

    def verify_once(_: int) -> tuple[int, bool]:
        answer = client.post("/v1/passport-verifications", content=document)
        return answer.status_code, answer.json()["valid"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(verify_once, range(20))) == {(200, True)}


def test_an_assessors_suspension_shows_in_verification_at_once(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    number, document = issue_s1_passport(client, prepared)
    decided = client.post(
        f"/v1/passports/{number}/decisions",
        json={"decision": "suspend", "reason": "The hosting provider reported a breach."},
        headers=bearer(prepared, "assessor"),
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["standing"]) == ("suspended", "suspended")
    verdict = client.post("/v1/passport-verifications", content=document).json()
    assert (verdict["valid"], verdict["state"]) == (False, "suspended")
    again = client.post(
        f"/v1/passports/{number}/decisions",
        json={"decision": "suspend", "reason": "The hosting provider reported a breach."},
        headers=bearer(prepared, "assessor"),
    )
    assert again.status_code == 409
    short = client.post(
        f"/v1/passports/{number}/decisions",
        json={"decision": "revoke", "reason": "short"},
        headers=bearer(prepared, "assessor"),
    )
    assert short.status_code == 422
    by_force = client.post(
        f"/v1/passports/{number}/decisions",
        json={"decision": "reinstate", "reason": "The force would like it back."},
        headers=bearer(prepared, "force"),
    )
    assert by_force.status_code == 403


def test_a_force_relies_on_a_passport_and_the_national_view_counts_it(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    product_id = _listed(client, prepared)
    number, _ = issue_s1_passport(client, prepared)
    force = bearer(prepared, "force")
    assert client.put(_url(prepared, product_id), json={}, headers=force).status_code == 201
    relied = client.put(
        _url(prepared, product_id) + "/reliance", json={"passport": number}, headers=force
    )
    assert relied.status_code == 200, relied.text
    assert (relied.json()["passport"], relied.json()["standing"]) == (number, "valid")
    f1 = prepared.world.orgs["f1"].organisation_id
    mine = client.get(f"/v1/risk/organisations/{f1}/reliances", headers=force).json()
    assert [r["passport"] for r in mine] == [number]
    national = client.get("/v1/passport-reliance", headers=bearer(prepared, "assessor")).json()
    assert (national["avoided"], national["reliances"]) == (1, 1)
    assert national["products"][0]["passport"] == number

    unknown = client.put(
        _url(prepared, product_id) + "/reliance",
        json={"passport": "PP-0000000000000000"},
        headers=force,
    )
    assert unknown.status_code == 404
    malformed = client.put(
        _url(prepared, product_id) + "/reliance", json={"passport": "nope"}, headers=force
    )
    assert malformed.status_code == 422
    ended = client.delete(_url(prepared, product_id) + "/reliance", headers=force)
    assert ended.status_code == 204
    gone = client.delete(_url(prepared, product_id) + "/reliance", headers=force)
    assert gone.status_code == 404
    listed = client.get("/v1/passports", headers=force).json()
    assert [(p["number"], p["standing"]) for p in listed] == [(number, "valid")]
