"""Proof of post-quantum capability: the platform issues a one-time challenge for a product, the
supplier signs its message with their ML-DSA key, and a signature that verifies is recorded as
automated-check evidence."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path

from partner_api.deps import Caller, Rt
from partner_api.pq_proof_models import PqAnswerIn, PqChallengeIn, PqChallengeOut, PqProofOut
from posture.storage.engine import transaction
from supplier_portal.pq_proof import answer_challenge, challenge_message, issue_challenge

router = APIRouter(prefix="/v1", tags=["post-quantum proof"])
ProductId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The product's id.")]
ChallengeId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The challenge's id.")]


@router.post(
    "/products/{product_id}/pq-proof/challenges",
    operation_id="issuePqChallenge",
    summary="Issue a one-time challenge: sign its message with the product's ML-DSA key",
    status_code=201,
    response_model=PqChallengeOut,
)
def issue(me: Caller, rt: Rt, product_id: ProductId, body: PqChallengeIn) -> PqChallengeOut:
    with transaction(rt.sessions) as session:
        challenge = issue_challenge(session, me, product_id, body.algorithm)
        issued = PqChallengeOut(
            id=challenge.id,
            product_id=product_id,
            algorithm=challenge.algorithm,
            nonce=challenge.nonce,
            message=base64.b64encode(challenge_message(challenge)).decode("ascii"),
            issued_at=challenge.issued_at,
            expires_at=challenge.expires_at,
        )
    return issued


@router.post(
    "/pq-proof/challenges/{challenge_id}/answer",
    operation_id="answerPqChallenge",
    summary="Answer a challenge with the public key and signature; verified, it becomes evidence",
    response_model=PqProofOut,
)
def answer(me: Caller, rt: Rt, challenge_id: ChallengeId, body: PqAnswerIn) -> PqProofOut:
    # The schema's pattern admits only padded base64, so these decode.
    public_key = base64.b64decode(body.public_key, validate=True)
    signed = base64.b64decode(body.signature, validate=True)
    with transaction(rt.sessions) as session:
        evidence = answer_challenge(session, me, challenge_id, public_key, signed)
        proof = PqProofOut(
            challenge_id=challenge_id,
            product_id=evidence.meta["product_id"],
            verdict="verified",
            algorithm=evidence.meta["algorithm"],
            public_key_sha256=evidence.meta["public_key_sha256"],
            evidence_id=evidence.id,
            verified_at=evidence.created_at,
        )
    return proof
