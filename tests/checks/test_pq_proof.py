"""Proof of post-quantum capability: sign the portal's nonce with an ML-DSA key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound
from posture.storage.models import AuditEvent, Evidence, PqChallenge
from posture.storage.models.enums import Role
from pq_crypto.registry import signature
from supplier_portal.pq_proof import answer_challenge, challenge_message, issue_challenge


@pytest.fixture
def challenge(world_db):
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    with sessions() as session, session.begin():
        issued = issue_challenge(session, me, world.orgs["s1"].product_id)
        session.expunge(issued)
    return world, sessions, me, issued


def _signed(issued: PqChallenge, algorithm: str = "ML-DSA-65"):
    signer = signature(algorithm)
    pair = signer.generate_keypair()
    return pair.public_key, signer.sign(pair.secret_key, challenge_message(issued))


def test_a_valid_signature_is_recorded_as_automated_evidence(challenge) -> None:
    _world, sessions, me, issued = challenge
    public_key, signed = _signed(issued)
    with sessions() as session, session.begin():
        evidence = answer_challenge(session, me, issued.id, public_key, signed)
        evidence_id = evidence.id
    with sessions() as session:
        stored = session.get(Evidence, evidence_id)
        assert stored is not None
        assert stored.provenance == "automated_check"
        assert stored.meta["algorithm"] == "ML-DSA-65"
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-1] == "pq_proof.verified"


def test_a_wrong_signature_is_refused_and_records_nothing(challenge) -> None:
    _world, sessions, me, issued = challenge
    public_key, signed = _signed(issued)
    forged = signed[:-1] + bytes([signed[-1] ^ 1])
    with sessions() as session, pytest.raises(ValidationFailed, match="does not verify"):
        answer_challenge(session, me, issued.id, public_key, forged)
    with sessions() as session:
        assert (
            session.scalars(select(Evidence).where(Evidence.kind == "pq_capability_proof")).all()
            == []
        )


def test_a_signature_for_another_nonce_is_refused(challenge) -> None:
    world, sessions, me, issued = challenge
    with sessions() as session, session.begin():
        other = issue_challenge(session, me, world.orgs["s1"].product_id)
        session.expunge(other)
    public_key, signed = _signed(other)
    with sessions() as session, pytest.raises(ValidationFailed, match="does not verify"):
        answer_challenge(session, me, issued.id, public_key, signed)


def test_a_challenge_is_answered_once_and_expires(challenge) -> None:
    world, sessions, me, issued = challenge
    public_key, signed = _signed(issued)
    with sessions() as session, session.begin():
        answer_challenge(session, me, issued.id, public_key, signed)
    with sessions() as session, pytest.raises(ValidationFailed, match="already been answered"):
        answer_challenge(session, me, issued.id, public_key, signed)
    with sessions() as session, session.begin():
        late = issue_challenge(session, me, world.orgs["s1"].product_id)
        late.expires_at = late.issued_at - timedelta(seconds=1)
        late_id = late.id
    with sessions() as session, pytest.raises(ValidationFailed, match="expired"):
        answer_challenge(session, me, late_id, public_key, signed)


def test_another_supplier_cannot_answer_or_issue(challenge) -> None:
    world, sessions, _, issued = challenge
    public_key, signed = _signed(issued)
    stranger = world.principal(Role.SUPPLIER_ADMIN)
    stranger = type(stranger)(
        stranger.user_id,
        "s2@x",
        (type(stranger.memberships[0])(world.orgs["s2"].organisation_id, Role.SUPPLIER_ADMIN),),
    )
    with sessions() as session, pytest.raises(NotFound):
        answer_challenge(session, stranger, issued.id, public_key, signed)
    with sessions() as session, pytest.raises(NotFound):
        issue_challenge(session, stranger, world.orgs["s1"].product_id)
