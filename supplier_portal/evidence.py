"""Evidence files: size-capped, typed by their content (not their name), stored by SHA-256."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.audit import record
from posture.blobs import BlobStore
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.storage.models import Evidence
from posture.storage.models.enums import AssessmentStatus, Provenance
from supplier_portal.assessments import get_assessment
from supplier_portal.uploads import store_upload

# A document claimed to hold for longer than this is a typo (a year of 2205).
MAX_VALIDITY = timedelta(days=10 * 365)


def add_evidence(
    session: Session,
    principal: Principal,
    settings: Settings,
    assessment_id: int,
    filename: str,
    data: bytes,
    expires_on: date | None = None,
) -> Evidence:
    """Everything is checked before anything is written: size, type, then file, then row.
    `expires_on` is the last day the document holds, when it has one."""
    assessment = get_assessment(session, principal, assessment_id, "evidence.write")
    if assessment.status != AssessmentStatus.DRAFT:
        raise ValidationFailed("evidence can only be added to a draft assessment")
    _check_expiry(expires_on, utcnow().date())
    stored = store_upload(settings, filename, data)
    evidence = Evidence(
        organisation_id=assessment.organisation_id,
        assessment_id=assessment.id,
        kind="document",
        filename=stored.filename,
        media_type=stored.media_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        provenance=Provenance.DOCUMENTARY,
        storage_key=stored.storage_key,
        created_by_user_id=principal.user_id,
        expires_on=expires_on,
    )
    session.add(evidence)
    session.flush()
    record(
        session,
        actor_of(principal),
        "evidence.added",
        "evidence",
        evidence.id,
        {
            "assessment_id": assessment.id,
            "filename": stored.filename,
            "sha256": stored.sha256,
            "media_type": stored.media_type,
            "size_bytes": stored.size_bytes,
            "expires_on": None if expires_on is None else expires_on.isoformat(),
        },
        organisation_id=assessment.organisation_id,
    )
    return evidence


def _check_expiry(expires_on: date | None, today: date) -> None:
    if expires_on is None:
        return
    if expires_on < today:
        raise ValidationFailed(
            f"expires_on: {expires_on.isoformat()} has passed; evidence must still hold today"
        )
    if expires_on > today + MAX_VALIDITY:
        raise ValidationFailed(
            f"expires_on: more than {MAX_VALIDITY.days // 365} years away; give the day the "
            "document stops holding, or none"
        )


def list_evidence(session: Session, principal: Principal, assessment_id: int) -> list[Evidence]:
    """The assessment's files, oldest first, for those who may read the assessment."""
    get_assessment(session, principal, assessment_id)
    return list(
        session.scalars(
            select(Evidence).where(Evidence.assessment_id == assessment_id).order_by(Evidence.id)
        )
    )


def evidence_content(settings: Settings, evidence: Evidence) -> bytes:
    """The bytes of a file from `list_evidence`, refused if they changed after upload."""
    return BlobStore.for_settings(settings).get(evidence.sha256)
