"""Proof of post-quantum capability: the portal issues a nonce, the supplier signs it with their
ML-DSA key, the portal verifies the signature and records it as automated-check evidence.

The signed message binds the nonce to the platform and the product, so a signature made for one
challenge cannot be replayed for another: "policetech-assure/pq-proof/v1:<nonce>:<product id>".
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.storage.models import Evidence, PqChallenge
from posture.storage.models.enums import Provenance
from pq_crypto.interface import UnsupportedAlgorithm
from pq_crypto.registry import signature
from supplier_portal.products import get_product

CHALLENGE_LIFETIME = timedelta(minutes=15)
ACCEPTED_ALGORITHMS = ("ML-DSA-44", "ML-DSA-65", "ML-DSA-87")
MAX_PUBLIC_KEY_BYTES = 4096
MAX_SIGNATURE_BYTES = 8192
ALREADY_ANSWERED = "this challenge has already been answered; ask for a new one"


def challenge_message(challenge: PqChallenge) -> bytes:
    product = str(challenge.product_id or "organisation")
    return f"policetech-assure/pq-proof/v1:{challenge.nonce}:{product}".encode()


def issue_challenge(
    session: Session, principal: Principal, product_id: int, algorithm: str = "ML-DSA-65"
) -> PqChallenge:
    product = get_product(session, principal, product_id, "check.run")
    if algorithm not in ACCEPTED_ALGORITHMS:
        raise ValidationFailed(f"algorithm: choose one of {', '.join(ACCEPTED_ALGORITHMS)}")
    now = utcnow()
    challenge = PqChallenge(
        organisation_id=product.organisation_id,
        product_id=product.id,
        algorithm=algorithm,
        nonce=secrets.token_hex(32),
        issued_by_user_id=principal.user_id,
        issued_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    session.add(challenge)
    session.flush()
    record(
        session,
        actor_of(principal),
        "pq_proof.challenge_issued",
        "pq_challenge",
        challenge.id,
        {"product_id": product.id, "algorithm": algorithm},
        organisation_id=product.organisation_id,
    )
    return challenge


def get_challenge(session: Session, principal: Principal, challenge_id: int) -> PqChallenge:
    return load_visible(session, PqChallenge, challenge_id, principal, "check.run", "challenge")


def answer_challenge(
    session: Session, principal: Principal, challenge_id: int, public_key: bytes, signed: bytes
) -> Evidence:
    """Verify the answer; a wrong, late or repeated answer is refused and records nothing."""
    challenge = get_challenge(session, principal, challenge_id)
    if challenge.answered_at is not None:
        raise ValidationFailed(ALREADY_ANSWERED)
    if utcnow() >= challenge.expires_at:
        raise ValidationFailed("this challenge has expired; ask for a new one")
    for what, given, limit in (
        ("public key", public_key, MAX_PUBLIC_KEY_BYTES),
        ("signature", signed, MAX_SIGNATURE_BYTES),
    ):
        if not given:
            raise ValidationFailed(f"{what}: empty")
        if len(given) > limit:
            raise ValidationFailed(f"{what}: {len(given)} bytes, more than the {limit} allowed")
    try:
        verifier = signature(challenge.algorithm)
    except UnsupportedAlgorithm as exc:
        raise ValidationFailed(str(exc)) from exc
    if not verifier.verify(public_key, challenge_message(challenge), signed):
        raise ValidationFailed(f"the {challenge.algorithm} signature does not verify")
    answered_at = utcnow()
    # The check above read a moment ago; answers sent together all pass it. The conditional
    # update lets exactly one of them claim the challenge, and the others are refused as repeats.
    claimed = session.execute(
        update(PqChallenge)
        .where(PqChallenge.id == challenge.id, PqChallenge.answered_at.is_(None))
        .values(answered_at=answered_at)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise ValidationFailed(ALREADY_ANSWERED)
    key_hash = hashlib.sha256(public_key).hexdigest()
    evidence = Evidence(
        organisation_id=challenge.organisation_id,
        kind="pq_capability_proof",
        filename=f"{challenge.algorithm} proof for challenge {challenge.id}",
        media_type="application/octet-stream",
        size_bytes=len(public_key),
        sha256=key_hash,
        provenance=Provenance.AUTOMATED_CHECK,
        storage_key=f"pq-proof/{challenge.id}",
        meta={
            "algorithm": challenge.algorithm,
            "nonce": challenge.nonce,
            "product_id": challenge.product_id,
            "public_key_sha256": key_hash,
        },
        created_by_user_id=principal.user_id,
    )
    session.add(evidence)
    session.flush()
    challenge.answered_at, challenge.evidence_id = answered_at, evidence.id
    record(
        session,
        actor_of(principal),
        "pq_proof.verified",
        "pq_challenge",
        challenge.id,
        {
            "algorithm": challenge.algorithm,
            "public_key_sha256": key_hash,
            "evidence_id": evidence.id,
        },
        organisation_id=challenge.organisation_id,
    )
    return evidence
