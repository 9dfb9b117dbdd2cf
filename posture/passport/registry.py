"""The platform's passports: who may see which, their signed files, the revocation list it
publishes, verification against its own records, and a national assessor's decisions on one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.passport.document import (
    REVOCATIONS_NAME,
    REVOCATIONS_SCHEMA,
    PassportCheck,
    RevocationBody,
    RevocationEntry,
    iso,
    seal,
    verify_passport,
)
from posture.passport.policy import passport_policy
from posture.passport.status import REASONS, change_status, lock_passport, standing
from posture.storage.models import Organisation, Passport, Product
from posture.storage.models.enums import PassportStatus
from pq_crypto.attestation import AttestationKeys, PublicKeys

# The decisions a national assessor may take on a passport, and the status each leads to.
DECISIONS = {
    "suspend": PassportStatus.SUSPENDED,
    "revoke": PassportStatus.REVOKED,
    "reinstate": PassportStatus.ISSUED,
}
MIN_REASON, MAX_REASON = 10, 2_000


class PassportView(BaseModel):
    """A passport's record, as pages and the API show it."""

    model_config = ConfigDict(frozen=True)

    number: str
    product_id: int
    product: str
    supplier_id: int
    supplier: str
    assessment_id: int
    issued_at: datetime
    expires_at: datetime
    status: PassportStatus = Field(description="issued, suspended, revoked or superseded.")
    status_reason: str | None
    status_changed_at: datetime | None
    sha256: str = Field(description="SHA-256 of the signed passport file.")

    def standing_at(self, now: datetime) -> str:
        return standing(self.status, self.expires_at, now)


# A passport's record without its signed file, which only a download reads.
_VIEW_COLUMNS = (
    Passport.number,
    Passport.product_id,
    Passport.organisation_id,
    Passport.assessment_id,
    Passport.issued_at,
    Passport.expires_at,
    Passport.status,
    Passport.status_reason,
    Passport.status_changed_at,
    Passport.sha256,
)


def _views(session: Session, *conditions: object, limit: int | None = None) -> list[PassportView]:
    rows = session.execute(
        select(*_VIEW_COLUMNS, Product.name.label("product"), Organisation.name.label("supplier"))
        .join(Product, Product.id == Passport.product_id)
        .join(Organisation, Organisation.id == Passport.organisation_id)
        .where(*conditions)
        .order_by(Passport.issued_at.desc(), Passport.id.desc())
        .limit(limit)
    ).all()
    return [
        PassportView(
            number=row.number,
            product_id=row.product_id,
            product=row.product,
            supplier_id=row.organisation_id,
            supplier=row.supplier,
            assessment_id=row.assessment_id,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            status=PassportStatus(row.status),
            status_reason=row.status_reason,
            status_changed_at=row.status_changed_at,
            sha256=row.sha256,
        )
        for row in rows
    ]


def list_passports(
    session: Session,
    principal: Principal,
    product_id: int | None = None,
    limit: int = 500,
    search: str = "",
) -> list[PassportView]:
    """The newest `limit` passports the principal may see, of one product or of products whose
    name contains `search`."""
    scope = visible_organisations(principal, "passport.read")
    conditions: list[object] = []
    if scope is not None:
        conditions.append(Passport.organisation_id.in_(scope))
    if product_id is not None:
        conditions.append(Passport.product_id == product_id)
    if search.strip():
        conditions.append(Product.name.icontains(search.strip(), autoescape=True))
    return _views(session, *conditions, limit=limit)


def _visible(session: Session, principal: Principal, number: str) -> Passport:
    passport = session.scalar(select(Passport).where(Passport.number == number))
    if passport is None:
        visible_organisations(principal, "passport.read")
        raise NotFound("passport not found")
    require(principal, "passport.read", passport.organisation_id, "passport")
    return passport


def passport_view(session: Session, principal: Principal, number: str) -> PassportView:
    passport = _visible(session, principal, number)
    return _views(session, Passport.id == passport.id)[0]


def passport_file(session: Session, principal: Principal, number: str) -> bytes:
    """The signed passport exactly as issued."""
    return _visible(session, principal, number).document


# What a revocation list entry reads of a passport (never its signed file).
_ENTRY_COLUMNS = (
    Passport.number,
    Passport.status,
    Passport.status_changed_at,
    Passport.issued_at,
    Passport.status_reason,
)


def _entry(passport: Any) -> RevocationEntry:
    """The entry of a passport, or of a row of its _ENTRY_COLUMNS."""
    changed = passport.status_changed_at or passport.issued_at
    return RevocationEntry(
        number=passport.number,
        status=PassportStatus(passport.status),
        since=iso(changed),
        reason=passport.status_reason or "assessor",
    )


def revocation_body(session: Session, keys: AttestationKeys, now: datetime) -> RevocationBody:
    """Every passport not yet expired that is suspended, revoked or superseded: an expired one
    fails on its own date, so the list stays bounded by one validity period's issues."""
    ended = session.execute(
        select(*_ENTRY_COLUMNS)
        .where(Passport.status != PassportStatus.ISSUED, Passport.expires_at > now)
        .order_by(Passport.number)
    ).all()
    hours = passport_policy().revocation_list_hours
    return RevocationBody(
        schema=REVOCATIONS_SCHEMA,
        issuer_fingerprint=keys.fingerprint,
        issued_at=iso(now),
        next_update=iso(now + timedelta(hours=hours)),
        entries=[_entry(row) for row in ended],
    )


def revocation_list(session: Session, keys: AttestationKeys, now: datetime | None = None) -> bytes:
    """The signed revocation list the platform publishes."""
    moment = (now or utcnow()).replace(microsecond=0)
    return seal(
        "revocations", revocation_body(session, keys, moment).wire(), REVOCATIONS_NAME, keys
    )


def verify_here(
    session: Session, trusted: PublicKeys, raw: bytes, at: datetime | None = None
) -> PassportCheck:
    """Verify a passport file against the platform's keys and its records as they stand now.
    A passport the keys signed that the records do not hold is refused: the records are the
    authority on its status, and without them its status is unknown."""
    moment = at or utcnow()

    def status_of(number: str) -> RevocationEntry | None:
        passport = session.scalar(select(Passport).where(Passport.number == number))
        if passport is None:
            return RevocationEntry(
                number=number,
                status=PassportStatus.REVOKED,
                since=iso(moment),
                reason="unknown to the platform",
            )
        return None if passport.status == PassportStatus.ISSUED else _entry(passport)

    return verify_passport(
        raw,
        trusted,
        status_of,
        f"the platform's records as they stand at {iso(utcnow().replace(microsecond=0))}",
        moment,
        passport_policy().max_document_bytes,
    )


def decide(
    session: Session, principal: Principal, number: str, decision: str, reason: str
) -> PassportView:
    """A national assessor suspends, revokes or reinstates a passport, giving a reason."""
    # By role first: a caller who may never decide learns nothing of which passports exist.
    visible_organisations(principal, "passport.manage")
    passport = _visible(session, principal, number)
    require(principal, "passport.manage", passport.organisation_id, "passport")
    if decision not in DECISIONS:
        raise ValidationFailed("decision: suspend, revoke or reinstate")
    reason = reason.strip()
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise ValidationFailed(f"reason: say why, in {MIN_REASON} to {MAX_REASON:,} characters")
    passport = lock_passport(session, passport.id)
    target = DECISIONS[decision]
    if PassportStatus(passport.status) == target:
        already = "in force" if target == PassportStatus.ISSUED else target.value
        raise ValidationFailed(f"passport {number} is already {already}")
    if target == PassportStatus.ISSUED and utcnow() >= passport.expires_at:
        raise ValidationFailed(f"passport {number} has expired; it cannot be reinstated")
    change_status(
        session, actor_of(principal), passport, target, "assessor", {"assessor_reason": reason}
    )
    return passport_view(session, principal, number)


__all__ = ["DECISIONS", "REASONS", "PassportView"]
