"""Assurance passports. Public, with no token: the keys that verify them, the signed revocation
list, and verification of a passport file against the platform's records. With a token: the
passports a caller may see and their signed files, a national assessor's decisions on one, a
force's reliance on one for a deployment, and the national count of assessments saved."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from jsonschema import Draft202012Validator
from pydantic import Field

from kernel.clock import utcnow
from partner_api.deps import Caller, Reading, Rt, Runtime
from partner_api.models import In, Out
from posture.passport.document import NUMBER_PATTERN, passport_file_schema
from posture.passport.policy import passport_policy
from posture.passport.registry import (
    DECISIONS,
    MAX_REASON,
    MIN_REASON,
    PassportView,
    decide,
    list_passports,
    passport_file,
    passport_view,
    revocation_list,
    verify_here,
)
from posture.passport.reliance import (
    Reliance,
    assurance_avoided,
    end_reliance,
    force_reliances,
    rely_on_passport,
)
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction

router = APIRouter(prefix="/v1", tags=["passports"])
RecordPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
NumberPath = Annotated[str, Path(pattern=NUMBER_PATTERN, description="PP- and 16 hex digits.")]
SIGNED = {"application/json": {"schema": {"type": "object"}}}
# A signed passport file, as the operation states it takes: a body outside this is a 422, one
# inside it a verdict.
FILE = passport_file_schema()
_FILE_CHECK = Draft202012Validator(FILE)
# How long a built revocation list is served before it is built again: a public endpoint must
# not sign a fresh list for every caller.
LIST_SECONDS = 60.0


class PassportOut(PassportView):
    standing: str = Field(description="valid, expired, or the status that ended it.")


class PublicKeysOut(Out):
    scheme: str
    ed25519: str
    ml_dsa_65: str
    fingerprint: str


class VerificationOut(Out):
    valid: bool
    state: str = Field(
        description="valid, invalid, not yet valid, expired, suspended, revoked or superseded."
    )
    reasons: list[str]
    number: str | None
    product: str | None
    supplier: str | None
    band: str | None
    profile: str | None
    issued_at: str | None
    expires_at: str | None
    checked_against: str | None


class DecisionIn(In):
    decision: Literal["suspend", "revoke", "reinstate"] = Field(
        description=f"One of: {', '.join(DECISIONS)}."
    )
    reason: str = Field(
        min_length=MIN_REASON,
        max_length=MAX_REASON,
        description="Why; shown to the supplier and to forces deploying the product.",
    )


class RelianceIn(In):
    passport: str = Field(pattern=NUMBER_PATTERN, description="The passport's number.")


class RelianceOut(Out):
    product_id: int
    product: str
    passport: str
    standing: str
    recorded_at: datetime


class ReliedProductOut(Out):
    product_id: int
    product: str
    supplier: str
    passport: str
    standing: str
    forces: int


class AssuranceAvoidedOut(Out):
    avoided: int = Field(description="Forces relying on a passport valid now.")
    reliances: int
    products: list[ReliedProductOut]


def _out(view: PassportView) -> PassportOut:
    return PassportOut(**view.model_dump(), standing=view.standing_at(utcnow()))


def _reliance_out(reliance: Reliance) -> RelianceOut:
    return RelianceOut(
        product_id=reliance.product_id,
        product=reliance.product,
        passport=reliance.passport,
        standing=reliance.standing,
        recorded_at=reliance.recorded_at,
    )


@dataclass
class _ListCache:
    lock: Lock = field(default_factory=Lock)
    built: float = float("-inf")
    data: bytes = b""


_CREATING = Lock()


def _current_list(request: Request, rt: Runtime) -> bytes:
    """The app's revocation list, built again once it is LIST_SECONDS old."""
    with _CREATING:
        cache = getattr(request.app.state, "passport_revocations", None)
        if cache is None:
            cache = request.app.state.passport_revocations = _ListCache()
    with cache.lock:
        if time.monotonic() - cache.built >= LIST_SECONDS:
            with rt.sessions() as session:
                cache.data = revocation_list(session, platform_keys(rt.settings))
            cache.built = time.monotonic()
        return cache.data


def _outlined(raw: bytes) -> bool:
    """Whether the body is what the schema (FILE) states the operation takes."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return _FILE_CHECK.is_valid(document)


@router.get(
    "/passport-keys",
    operation_id="getPassportKeys",
    summary="The platform's public keys (Ed25519 and ML-DSA-65) that verify passports offline",
    response_model=PublicKeysOut,
    openapi_extra={"security": []},
)
def get_keys(rt: Rt) -> PublicKeysOut:
    return PublicKeysOut(**platform_keys(rt.settings).public().document())


@router.get(
    "/passport-revocations",
    operation_id="getPassportRevocations",
    summary="The signed list of passports suspended, revoked or superseded (not yet expired); "
    "verify it with the published keys and fetch it again by its next_update",
    response_class=Response,
    responses={200: {"content": SIGNED}},
    openapi_extra={"security": []},
)
def get_revocations(request: Request, rt: Rt) -> Response:
    return Response(_current_list(request, rt), media_type="application/json")


@router.post(
    "/passport-verifications",
    operation_id="verifyPassport",
    summary="Verify a passport file as downloaded (the request body, byte for byte): both "
    "signatures, the platform's keys, its dates and its status now",
    response_model=VerificationOut,
    openapi_extra={
        "security": [],
        "requestBody": {"required": True, "content": {"application/json": {"schema": FILE}}},
    },
)
async def verify(request: Request, rt: Rt) -> VerificationOut:
    limit = passport_policy().max_document_bytes
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            break
    if len(raw) <= limit and not _outlined(raw):
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "send a passport file as downloaded", "type": "value_error"}]
        )

    def check() -> VerificationOut:
        with rt.sessions() as session:
            verdict = verify_here(session, platform_keys(rt.settings).public(), raw)
        return VerificationOut(**verdict.summary())

    return await run_in_threadpool(check)


@router.get(
    "/passports",
    operation_id="listPassports",
    summary="Passports the caller may see, newest first",
    response_model=list[PassportOut],
)
def get_passports(
    me: Caller,
    session: Reading,
    product_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> list[PassportOut]:
    return [_out(view) for view in list_passports(session, me, product_id)]


@router.get(
    "/passports/{number}",
    operation_id="getPassport",
    summary="One passport's record",
    response_model=PassportOut,
)
def get_passport(me: Caller, session: Reading, number: NumberPath) -> PassportOut:
    return _out(passport_view(session, me, number))


@router.get(
    "/passports/{number}/document",
    operation_id="downloadPassport",
    summary="The signed passport file exactly as issued, to hand to whoever relies on it",
    response_class=Response,
    responses={200: {"content": SIGNED}},
)
def download_passport(me: Caller, session: Reading, number: NumberPath) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="passport-{number}.json"'}
    return Response(
        passport_file(session, me, number), media_type="application/json", headers=headers
    )


@router.post(
    "/passports/{number}/decisions",
    operation_id="decidePassport",
    summary="Suspend, revoke or reinstate a passport (national assessors), with a reason",
    response_model=PassportOut,
)
def decide_passport(me: Caller, rt: Rt, number: NumberPath, body: DecisionIn) -> PassportOut:
    with transaction(rt.sessions) as session:
        return _out(decide(session, me, number, body.decision, body.reason))


@router.get(
    "/passport-reliance",
    operation_id="getAssuranceAvoided",
    summary="Assessments forces did not need because they relied on a valid passport",
    response_model=AssuranceAvoidedOut,
)
def get_assurance_avoided(me: Caller, session: Reading) -> AssuranceAvoidedOut:
    view = assurance_avoided(session, me)
    return AssuranceAvoidedOut(
        avoided=view.avoided,
        reliances=view.reliances,
        products=[ReliedProductOut(**vars(p)) for p in view.products],
    )


@router.get(
    "/risk/organisations/{organisation_id}/reliances",
    operation_id="listReliances",
    summary="The passports a force relies on for its deployments, with each one's standing",
    response_model=list[RelianceOut],
)
def list_reliances(me: Caller, session: Reading, organisation_id: RecordPath) -> list[RelianceOut]:
    return [_reliance_out(r) for r in force_reliances(session, me, organisation_id)]


@router.put(
    "/risk/organisations/{organisation_id}/deployments/{product_id}/reliance",
    operation_id="relyOnPassport",
    summary="Rely on the product's valid passport for this deployment instead of assessing it "
    "again (refused when its profile falls short of what the force's use needs)",
    response_model=RelianceOut,
)
def rely(
    me: Caller, rt: Rt, organisation_id: RecordPath, product_id: RecordPath, body: RelianceIn
) -> RelianceOut:
    with transaction(rt.sessions) as session:
        relied = rely_on_passport(session, me, organisation_id, product_id, body.passport)
    return _reliance_out(relied)


@router.delete(
    "/risk/organisations/{organisation_id}/deployments/{product_id}/reliance",
    operation_id="endReliance",
    summary="Stop relying on a passport for this deployment",
    status_code=204,
    response_class=Response,
)
def stop_relying(
    me: Caller, rt: Rt, organisation_id: RecordPath, product_id: RecordPath
) -> Response:
    with transaction(rt.sessions) as session:
        end_reliance(session, me, organisation_id, product_id)
    return Response(status_code=204)
