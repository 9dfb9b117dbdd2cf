"""Evidence files: size-capped, typed by their content (not their name), stored by SHA-256."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.assessment_frameworks import framework_of
from posture.audit import record
from posture.blobs import BlobStore
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.storage.models import Assessment, Evidence
from posture.storage.models.enums import AssessmentStatus, Provenance
from supplier_portal.assessment_guide import outcomes_in_scope
from supplier_portal.assessments import get_assessment, lock_assessment
from supplier_portal.uploads import store_upload

# A document claimed to hold for longer than this is a typo (a year of 2205).
MAX_VALIDITY = timedelta(days=10 * 365)
# Where a document's supported outcome ids are kept in Evidence.meta (a list of labels: the
# assessment pins the framework version, so a label names one outcome).
OUTCOMES_KEY = "outcomes"


def add_evidence(
    session: Session,
    principal: Principal,
    settings: Settings,
    assessment_id: int,
    filename: str,
    data: bytes,
    expires_on: date | None = None,
    outcomes: Sequence[str] = (),
) -> Evidence:
    """Everything is checked before anything is written: size, type, then file, then row.
    `expires_on` is the last day the document holds, when it has one; `outcomes` are the ids of
    the outcomes in the assessment's scope that the file supports."""
    assessment = get_assessment(session, principal, assessment_id, "evidence.write")
    if assessment.status != AssessmentStatus.DRAFT:
        raise ValidationFailed("evidence can only be added to a draft assessment")
    _check_expiry(expires_on, utcnow().date())
    supports = _outcomes_of(session, assessment, outcomes)
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
        meta={OUTCOMES_KEY: supports} if supports else {},
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
            "outcomes": supports,
        },
        organisation_id=assessment.organisation_id,
    )
    return evidence


def link_evidence(
    session: Session, principal: Principal, evidence_id: int, outcomes: Sequence[str]
) -> Evidence:
    """Say which outcomes a draft's file supports (replacing what was said before): for a file
    uploaded without them, through the API say, or to correct them."""
    evidence = load_visible(session, Evidence, evidence_id, principal, "evidence.write", "evidence")
    if evidence.assessment_id is None:
        raise ValidationFailed("evidence: this file belongs to no assessment")
    assessment = get_assessment(session, principal, evidence.assessment_id, "evidence.write")
    lock_assessment(session, assessment.id)
    session.refresh(assessment)
    if assessment.status != AssessmentStatus.DRAFT:
        raise ValidationFailed("evidence of a submitted assessment cannot be changed")
    supports = _outcomes_of(session, assessment, outcomes)
    before = supported_outcomes(evidence)
    evidence.meta = {**(evidence.meta or {}), OUTCOMES_KEY: supports}
    session.flush()
    record(
        session,
        actor_of(principal),
        "evidence.linked",
        "evidence",
        evidence.id,
        {"assessment_id": assessment.id, "outcomes": supports, "before": before},
        organisation_id=assessment.organisation_id,
    )
    return evidence


def supported_outcomes(evidence: Evidence) -> list[str]:
    """The outcome ids a file was said to support, in framework order."""
    return list((evidence.meta or {}).get(OUTCOMES_KEY, []))


def evidence_by_outcome(files: Sequence[Evidence]) -> dict[str, list[Evidence]]:
    """Each outcome id with the files that support it, oldest first."""
    found: dict[str, list[Evidence]] = {}
    for evidence in files:
        for outcome_id in supported_outcomes(evidence):
            found.setdefault(outcome_id, []).append(evidence)
    return found


def _outcomes_of(session: Session, assessment: Assessment, outcomes: Sequence[str]) -> list[str]:
    """The ids, checked to be outcomes in the assessment's scope, deduplicated in framework
    order; an unknown one is refused rather than dropped, so nothing is linked by mistake."""
    loaded = framework_of(session, assessment)
    scope = [
        o.id for o in outcomes_in_scope(loaded.framework, loaded.profiles[assessment.profile_id])
    ]
    unknown = sorted(set(outcomes) - set(scope))
    if unknown:
        shown = ", ".join(repr(o[:40]) for o in unknown[:5])
        raise ValidationFailed(f"outcomes: {shown} are not outcomes in this assessment's scope")
    return [o for o in scope if o in set(outcomes)]


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
