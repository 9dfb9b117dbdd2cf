"""Proving post-quantum signing through the API, with a real ML-DSA-65 key pair: the signed
challenge becomes automated-check evidence once; a replayed, late, foreign, oversize or
wrong-product answer is refused and records nothing."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Evidence, PqChallenge
from pq_crypto.interface import KeyPair
from pq_crypto.registry import signature
from supplier_portal.pq_proof import MAX_PUBLIC_KEY_BYTES
from tests.partner_api.conftest import bearer
from tests.partner_api.live import LiveApi, serving_api
from tests.partner_api.world import ApiWorld, prepare

ML_DSA = signature("ML-DSA-65")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def key_pair() -> KeyPair:
    return ML_DSA.generate_keypair()


def _issue(client: Any, prepared: ApiWorld, who: str = "s1") -> dict[str, Any]:
    product_id = prepared.world.orgs["s1"].product_id
    issued = client.post(
        f"/v1/products/{product_id}/pq-proof/challenges", json={}, headers=bearer(prepared, who)
    )
    assert issued.status_code == 201, issued.text
    return issued.json()


def _answer_body(key_pair: KeyPair, message: bytes) -> dict[str, str]:
    return {
        "public_key": b64(key_pair.public_key),
        "signature": b64(ML_DSA.sign(key_pair.secret_key, message)),
    }


def _answer(client: Any, prepared: ApiWorld, challenge_id: int, body: Any, who: str = "s1"):  # type: ignore[no-untyped-def]
    url = f"/v1/pq-proof/challenges/{challenge_id}/answer"
    return client.post(url, json=body, headers=bearer(prepared, who))


def _proofs(sessions: Any) -> dict[str, int]:
    with sessions() as session:
        evidence = session.scalar(
            select(func.count()).where(Evidence.kind == "pq_capability_proof")
        )
        verified = session.scalar(
            select(func.count()).where(AuditEvent.action == "pq_proof.verified")
        )
    return {"evidence": evidence or 0, "verified": verified or 0}


def test_a_signed_challenge_is_verified_and_recorded_as_evidence(
    api: tuple[TestClient, ApiWorld], key_pair: KeyPair
) -> None:
    client, prepared = api
    product_id = prepared.world.orgs["s1"].product_id
    challenge = _issue(client, prepared)
    message = base64.b64decode(challenge["message"])
    assert message == f"policetech-assure/pq-proof/v1:{challenge['nonce']}:{product_id}".encode()
    assert challenge["algorithm"] == "ML-DSA-65"
    lifetime = datetime.fromisoformat(challenge["expires_at"]) - datetime.fromisoformat(
        challenge["issued_at"]
    )
    assert lifetime == timedelta(minutes=15)
    answered = _answer(client, prepared, challenge["id"], _answer_body(key_pair, message))
    assert answered.status_code == 200, answered.text
    proof = answered.json()
    assert (proof["verdict"], proof["challenge_id"], proof["product_id"]) == (
        "verified",
        challenge["id"],
        product_id,
    )
    with client.app.state.runtime.sessions() as session:
        evidence = session.get(Evidence, proof["evidence_id"])
        assert evidence is not None
        assert evidence.provenance == "automated_check"
        assert evidence.organisation_id == prepared.world.orgs["s1"].organisation_id
        assert evidence.meta["public_key_sha256"] == proof["public_key_sha256"]
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["pq_proof.challenge_issued", "pq_proof.verified"]


def test_a_replayed_answer_is_refused_and_records_nothing_more(
    api: tuple[TestClient, ApiWorld], key_pair: KeyPair
) -> None:
    client, prepared = api
    challenge = _issue(client, prepared)
    body = _answer_body(key_pair, base64.b64decode(challenge["message"]))
    assert _answer(client, prepared, challenge["id"], body).status_code == 200
    replayed = _answer(client, prepared, challenge["id"], body)
    assert replayed.status_code == 409
    assert replayed.headers["content-type"] == "application/problem+json"
    assert "already been answered" in replayed.json()["detail"]
    assert _proofs(client.app.state.runtime.sessions) == {"evidence": 1, "verified": 1}


def test_a_signature_over_another_products_message_does_not_verify(
    api: tuple[TestClient, ApiWorld], key_pair: KeyPair
) -> None:
    client, prepared = api
    other = client.post(
        "/v1/products",
        json={
            "organisation_id": prepared.world.orgs["s1"].organisation_id,
            "name": "Custody Vault",
            "category": "other",
            "deployment_model": "saas",
        },
        headers=bearer(prepared, "s1"),
    ).json()
    challenge = _issue(client, prepared)
    elsewhere = f"policetech-assure/pq-proof/v1:{challenge['nonce']}:{other['id']}".encode()
    refused = _answer(client, prepared, challenge["id"], _answer_body(key_pair, elsewhere))
    assert refused.status_code == 409
    assert refused.json()["detail"] == "the ML-DSA-65 signature does not verify"
    assert _proofs(client.app.state.runtime.sessions) == {"evidence": 0, "verified": 0}
    # The refusal spent nothing: the right signature still answers the challenge.
    right = _answer_body(key_pair, base64.b64decode(challenge["message"]))
    assert _answer(client, prepared, challenge["id"], right).status_code == 200


def test_an_expired_challenge_is_refused(
    api: tuple[TestClient, ApiWorld], key_pair: KeyPair
) -> None:
    client, prepared = api
    challenge = _issue(client, prepared)
    sessions = client.app.state.runtime.sessions
    with transaction(sessions) as session:
        session.execute(
            update(PqChallenge)
            .where(PqChallenge.id == challenge["id"])
            .values(expires_at=PqChallenge.issued_at)
        )
    body = _answer_body(key_pair, base64.b64decode(challenge["message"]))
    late = _answer(client, prepared, challenge["id"], body)
    assert late.status_code == 409
    assert "expired" in late.json()["detail"]
    assert _proofs(sessions) == {"evidence": 0, "verified": 0}


def test_oversize_and_malformed_keys_are_refused_and_record_nothing(
    api: tuple[TestClient, ApiWorld], key_pair: KeyPair
) -> None:
    client, prepared = api
    challenge = _issue(client, prepared)
    good = _answer_body(key_pair, base64.b64decode(challenge["message"]))
    # Over what the schema lets a request carry at all.
    huge = _answer(client, prepared, challenge["id"], {**good, "public_key": b64(b"k" * 8000)})
    assert huge.status_code == 422
    assert [e["location"] for e in huge.json()["errors"]] == ["body.public_key"]
    # Within the schema's length (a padded length cannot say 4096 bytes exactly), over the bytes.
    just_over = b64(b"k" * (MAX_PUBLIC_KEY_BYTES + 1))
    over = _answer(client, prepared, challenge["id"], {**good, "public_key": just_over})
    assert over.status_code == 409
    assert over.json()["detail"] == "public key: 4097 bytes, more than the 4096 allowed"
    for malformed in ("not base64!", "QUJD\nREVG", "QUJ", "QUJD="):
        sent = _answer(client, prepared, challenge["id"], {**good, "public_key": malformed})
        assert sent.status_code == 422, malformed
    assert _proofs(client.app.state.runtime.sessions) == {"evidence": 0, "verified": 0}
    assert _answer(client, prepared, challenge["id"], good).status_code == 200


def test_another_supplier_can_neither_answer_nor_issue(
    api: tuple[TestClient, ApiWorld], key_pair: KeyPair
) -> None:
    client, prepared = api
    challenge = _issue(client, prepared)
    body = _answer_body(key_pair, base64.b64decode(challenge["message"]))
    foreign = _answer(client, prepared, challenge["id"], body, who="s2")
    missing = _answer(client, prepared, 999_999, body, who="s2")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    product_id = prepared.world.orgs["s1"].product_id
    issued = client.post(
        f"/v1/products/{product_id}/pq-proof/challenges", json={}, headers=bearer(prepared, "s2")
    )
    assert issued.status_code == 404
    assert _proofs(client.app.state.runtime.sessions) == {"evidence": 0, "verified": 0}
    assert _answer(client, prepared, challenge["id"], body).status_code == 200


def _all_at_once(
    client: httpx.Client, prepared: ApiWorld, challenge_id: int, body: Any
) -> list[int]:
    """Twenty answers released together, one a thread; their statuses."""
    start = threading.Barrier(20)

    def answer(_: int) -> int:
        start.wait()
        return _answer(client, prepared, challenge_id, body).status_code

    with ThreadPoolExecutor(20) as pool:
        return list(pool.map(answer, range(20)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live_world(
    request: pytest.FixtureRequest, api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> Iterator[tuple[LiveApi, ApiWorld]]:
    """The API served on loopback by uvicorn, on each database backend."""
    template, prepared = api_template
    settings = {}
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_schema_url")
        template, settings = tmp_path / "template", {"database_url": url}
        prepared = prepare(template, url)
    with serving_api(template, tmp_path / "data", settings) as live:
        yield live, prepared


def test_twenty_parallel_answers_to_one_challenge_make_one_proof(
    live_world: tuple[LiveApi, ApiWorld], key_pair: KeyPair
) -> None:
    live, prepared = live_world
    with httpx.Client(base_url=live.url, timeout=60) as client:
        # A few rounds, each on a fresh challenge: one round does not always catch the race.
        for round_ in range(1, 4):
            challenge = _issue(client, prepared)
            body = _answer_body(key_pair, base64.b64decode(challenge["message"]))
            statuses = _all_at_once(client, prepared, challenge["id"], body)
            assert sorted(statuses) == [200] + [409] * 19
            proofs = _proofs(live.app.state.runtime.sessions)
            assert proofs == {"evidence": round_, "verified": round_}
