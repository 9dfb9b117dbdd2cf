"""Issue a product's passport when a national assessor accepts its assessment in full.

What the passport states is read from the records at that moment: the product and supplier, the
profile the product must meet and why, the score the engine gives it (levels, band, confidence),
the hashes of the accepted assessment and of the check runs its score read, the exceptions in
force, and when it expires: after the policy's validity, or sooner when a certificate a cited
run saw expires first. A newer passport of the same product supersedes the older.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.findings import Severity
from checks.report import CheckReport
from frameworks.loader import default_framework
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.check_runs import latest_run_ids, report_certificate_not_after
from posture.framework_registry import register_framework
from posture.passport.document import (
    AssessmentPart,
    CheckRunPart,
    ExceptionPart,
    FrameworkPart,
    NamedRecord,
    OutcomePart,
    PassportBody,
    ProductPart,
    ProfilePart,
    canonical,
    iso,
    seal,
)
from posture.passport.policy import passport_policy
from posture.passport.status import LIVE, StatusRefused, change_status
from posture.scoring.explain import explain
from posture.scoring.load import load_estate
from posture.scoring.subjects import SubjectFilter
from posture.scoring.tables import framework_tables
from posture.storage.locks import hold_exclusive
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Finding,
    Organisation,
    OutcomeException,
    Passport,
    Product,
)
from posture.storage.models.enums import AssessmentStatus, PassportStatus
from posture.target_profiles import product_target
from pq_crypto.attestation import AttestationKeys


class NoPassport(ValidationFailed):
    """This assessment cannot be stated in a passport; nothing was written."""


def new_number() -> str:
    return "PP-" + secrets.token_hex(8).upper()


def assessment_digest(session: Session, assessment: Assessment) -> str:
    """SHA-256 of the canonical JSON of what was accepted: the assessment and every answer."""
    answers = session.execute(
        select(
            Answer.outcome_id,
            Answer.indicators_met,
            Answer.not_applicable,
            Answer.justification,
            Answer.provenance,
            Answer.review_status,
        )
        .where(Answer.assessment_id == assessment.id)
        .order_by(Answer.outcome_id)
    ).all()
    document = {
        "assessment": assessment.id,
        "version": assessment.version,
        "framework_version_id": assessment.framework_version_id,
        "profile": assessment.profile_id,
        "answers": [
            {
                "outcome": outcome,
                "indicators_met": sorted(indicators or []),
                "not_applicable": bool(not_applicable),
                "justification": justification or "",
                "provenance": str(provenance),
                "review": review,
            }
            for outcome, indicators, not_applicable, justification, provenance, review in answers
        ],
    }
    return hashlib.sha256(canonical(document)).hexdigest()


def run_digest(run: CheckRun) -> str:
    """SHA-256 of the canonical JSON of the run's stored report."""
    return hashlib.sha256(canonical(run.result or {})).hexdigest()


def certificate_not_after(run: CheckRun) -> datetime | None:
    """The soonest expiry of any certificate the run saw, for kinds that see certificates."""
    try:
        report = CheckReport.model_validate(run.result)
    except (ValueError, TypeError):
        return None
    return report_certificate_not_after(report)


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


@dataclass(frozen=True)
class Expiry:
    at: datetime
    reason: str


def expiry(issued: datetime, runs: list[CheckRunPart]) -> Expiry:
    policy = passport_policy()
    end = Expiry(add_months(issued, policy.validity_months), "validity")
    margin = timedelta(days=policy.certificate_margin_days)
    for run in runs:
        if run.certificate_not_after is not None:
            due = datetime.fromisoformat(run.certificate_not_after) - margin
            if due < end.at:
                end = Expiry(due, "certificate")
    return end


def _cited_runs(session: Session, product: Product) -> list[CheckRunPart]:
    """The latest run of each kind of check on the product: the runs its score read."""
    latest = latest_run_ids(
        CheckRun.organisation_id == product.organisation_id, CheckRun.product_id == product.id
    )
    runs = session.scalars(
        select(CheckRun).where(CheckRun.id.in_(latest.scalar_subquery())).order_by(CheckRun.id)
    ).all()
    parts = []
    for run in runs:
        not_after = certificate_not_after(run)
        parts.append(
            CheckRunPart(
                id=run.id,
                kind=run.kind,
                target=run.target,
                finished_at=iso(run.finished_at) if run.finished_at else None,
                status=str(run.status.value if hasattr(run.status, "value") else run.status),
                score=None if run.score is None else float(run.score),
                sha256=run_digest(run),
                certificate_not_after=None if not_after is None else iso(not_after),
            )
        )
    return parts


def _exceptions(session: Session, product_id: int, issued: datetime) -> list[ExceptionPart]:
    """Exceptions in force, without the force that granted each (the product's score says the
    same: that an outcome was excused, not by whom)."""
    rows = session.execute(
        select(
            OutcomeException.framework_id, OutcomeException.outcome_id, OutcomeException.expires_on
        )
        .where(
            OutcomeException.product_id == product_id,
            OutcomeException.revoked_at.is_(None),
            OutcomeException.expires_on >= issued.date(),
        )
        .order_by(
            OutcomeException.framework_id, OutcomeException.outcome_id, OutcomeException.expires_on
        )
    ).all()
    return [
        ExceptionPart(framework=framework, outcome=outcome, expires_on=expires.isoformat())
        for framework, outcome, expires in rows
    ]


def _refuse_critical(session: Session, run_ids: list[int]) -> None:
    """A run the passport would cite that has an open finding of a severity that suspends a
    passport: one issued now would be suspended by what it cites."""
    severities = [Severity(s).value for s in passport_policy().suspend_on_severities]
    found = session.execute(
        select(Finding.code, Finding.check_run_id)
        .where(Finding.check_run_id.in_(run_ids), Finding.severity.in_(severities))
        .order_by(Finding.check_run_id, Finding.code)
        .limit(1)
    ).first()
    if found is not None:
        raise NoPassport(
            f"check run {found.check_run_id}, which the passport would cite, has finding "
            f"{found.code} open; fix it and run the check again"
        )


def _accepted_at(session: Session, assessment: Assessment) -> datetime:
    # The assessment turns ACCEPTED with the last of its answers' acceptances.
    reviewed = session.scalar(
        select(func.max(Answer.reviewed_at)).where(Answer.assessment_id == assessment.id)
    )
    return reviewed or assessment.submitted_at or assessment.created_at


def passport_body(
    session: Session, assessment: Assessment, keys: AttestationKeys, issued: datetime
) -> PassportBody:
    if assessment.status != AssessmentStatus.ACCEPTED:
        raise NoPassport(f"assessment {assessment.id} is not accepted in full")
    if assessment.product_id is None:
        raise NoPassport("a passport states a product's assurance; this assessment is a force's")
    product = session.get(Product, assessment.product_id)
    supplier = session.get(Organisation, assessment.organisation_id)
    assert product is not None
    assert supplier is not None
    loaded = default_framework()
    framework_row = register_framework(session, loaded)
    if assessment.framework_version_id != framework_row.id:
        raise NoPassport(
            f"assessment {assessment.id} is pinned to another framework version than the one "
            f"products are scored against ({loaded.framework.title} {loaded.framework.version})"
        )
    estate = load_estate(session, loaded, issued.date(), SubjectFilter.product(product.id))
    if len(estate.subjects) != 1 or estate.subjects[0].subject.assessment_id != assessment.id:
        raise NoPassport(
            f"assessment {assessment.id} is not the product's current assessment; a newer "
            "version is in progress or under review"
        )
    runs = _cited_runs(session, product)
    _refuse_critical(session, [run.id for run in runs])
    scored = explain(estate, framework_tables(loaded))
    if not all(math.isfinite(float(scored[key])) for key in ("score", "confidence")):
        raise NoPassport(f"assessment {assessment.id} has no score to state")
    target = product_target(session, loaded, product)
    profile = loaded.profiles[assessment.profile_id]
    why = target.explain()
    if target.profile_id != profile.id:
        # The facts changed after submission: the assessment keeps the bar it was made against.
        why = (
            f"{profile.id}, the profile the assessment was submitted against; the product's "
            f"facts now ask for {why}"
        )
    ends = expiry(issued, runs)
    return PassportBody(
        schema="policetech-assure/passport/v1",
        number=new_number(),
        issuer_fingerprint=keys.fingerprint,
        product=ProductPart(
            id=product.id,
            name=product.name,
            version=product.version,
            category=product.category,
            deployment_model=product.deployment_model,
        ),
        supplier=NamedRecord(id=supplier.id, name=supplier.name),
        assessment=AssessmentPart(
            id=assessment.id,
            version=assessment.version,
            sha256=assessment_digest(session, assessment),
            accepted_at=iso(_accepted_at(session, assessment)),
            framework=FrameworkPart(
                id=loaded.framework.framework_id,
                version=loaded.framework.version,
                content_sha256=loaded.content_sha256,
            ),
        ),
        profile=ProfilePart(id=profile.id, title=profile.title, why=why),
        outcomes=[
            OutcomePart(
                outcome=entry["outcome"],
                title=entry["title"],
                status=entry["status"],
                target=entry["target"],
            )
            for entry in scored["outcomes"]
        ],
        band=str(scored["band"]),
        score=float(scored["score"]),
        confidence=float(scored["confidence"]),
        check_runs=runs,
        exceptions=_exceptions(session, product.id, issued),
        issued_at=iso(issued),
        expires_at=iso(ends.at),
        expiry_reason="certificate" if ends.reason == "certificate" else "validity",
    )


def issue_passport(
    session: Session, actor: Actor, keys: AttestationKeys, assessment_id: int
) -> Passport:
    """Sign and store the passport of an accepted product assessment; earlier passports of the
    product are superseded. NoPassport when the assessment cannot be stated in one."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NoPassport(f"no assessment {assessment_id}")
    if assessment.product_id is not None:
        # One issue at a time per product, so two never both stand as its current passport.
        hold_exclusive(session, f"passport:{assessment.product_id}")
    issued = utcnow().replace(microsecond=0)
    body = passport_body(session, assessment, keys, issued)
    document = seal("passport", body.wire(), body.number, keys)
    earlier = session.scalars(
        select(Passport).where(Passport.product_id == body.product.id, Passport.status.in_(LIVE))
    ).all()
    passport = Passport(
        number=body.number,
        product_id=body.product.id,
        organisation_id=body.supplier.id,
        assessment_id=assessment.id,
        issued_at=issued,
        expires_at=datetime.fromisoformat(body.expires_at),
        status=PassportStatus.ISSUED,
        status_detail={},
        document=document,
        sha256=hashlib.sha256(document).hexdigest(),
        issued_by_user_id=actor.user_id,
    )
    session.add(passport)
    session.flush()
    record(
        session,
        actor,
        "passport.issued",
        "passport",
        passport.id,
        {
            "passport_number": passport.number,
            "product_id": passport.product_id,
            "assessment_id": assessment.id,
            "expires_at": body.expires_at,
            "sha256": passport.sha256,
        },
        organisation_id=passport.organisation_id,
    )
    for older in earlier:
        try:
            change_status(
                session, actor, older, PassportStatus.SUPERSEDED, "superseded",
                {"by": passport.number},
            )  # fmt: skip
        except StatusRefused:
            continue  # revoked meanwhile: it stays revoked
    return passport
