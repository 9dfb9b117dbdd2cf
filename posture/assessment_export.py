"""Export an accepted assessment as an OSCAL assessment-results document.

Only an assessment an assessor accepted is exported: a draft or one still under review states
nothing anyone has checked. The levels are the scoring rules' own (posture.scoring.rules), the
framework is the version the assessment is pinned to, and the automated evidence is the
subject's latest run of each kind of check, its findings linked to outcomes by the check
catalogue for that framework version. The document is validated against NIST's schema here, so
a caller never holds an invalid one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from frameworks.oscal.assessment_results import (
    AssessmentResultsInput,
    CheckFindingEvidence,
    OutcomeResult,
    assessment_results_document,
)
from frameworks.oscal.validation import oscal_schema_errors
from frameworks.urns import UrnError
from kernel.errors import ValidationFailed
from posture.assessment_frameworks import framework_of
from posture.check_runs import latest_run_ids
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.scoring.rules import LEVEL_NAMES, claimed_level
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Finding,
    Organisation,
    Product,
)
from posture.storage.models.enums import AssessmentStatus


class ExportInvalid(ValidationFailed):
    """The document built does not validate against the OSCAL schema; nothing was written."""


def _latest_findings(session: Session, assessment: Assessment) -> list[tuple[Finding, CheckRun]]:
    subject = (
        CheckRun.product_id.is_(None)
        if assessment.product_id is None
        else CheckRun.product_id == assessment.product_id
    )
    latest = latest_run_ids(CheckRun.organisation_id == assessment.organisation_id, subject)
    rows = session.execute(
        select(Finding, CheckRun)
        .join(CheckRun, CheckRun.id == Finding.check_run_id)
        .where(CheckRun.id.in_(latest.scalar_subquery()))
        .order_by(CheckRun.id, Finding.id)
    ).all()
    return [(finding, run) for finding, run in rows]


def _checks_by_outcome(
    loaded: LoadedFramework, findings: list[tuple[Finding, CheckRun]]
) -> dict[str, list[CheckFindingEvidence]]:
    linked: dict[str, list[CheckFindingEvidence]] = defaultdict(list)
    for finding, run in findings:
        observed = run.finished_at or run.created_at
        for outcome_id in loaded.finding_links.outcomes_for(finding.code):
            linked[outcome_id].append(
                CheckFindingEvidence(
                    code=finding.code,
                    severity=str(finding.severity),
                    title=finding.title,
                    check_kind=run.kind,
                    check_run_id=run.id,
                    observed_at=observed,
                )
            )
    return linked


def _accepted_at(session: Session, assessment: Assessment) -> datetime:
    # The assessment turns ACCEPTED with the last of its answers' acceptances (supplier_portal
    # .reviews), so the latest review is when it was accepted.
    reviewed = session.scalar(
        select(func.max(Answer.reviewed_at)).where(Answer.assessment_id == assessment.id)
    )
    return reviewed or assessment.submitted_at or assessment.created_at


def gather_results(
    session: Session, assessment: Assessment, loaded: LoadedFramework
) -> AssessmentResultsInput:
    """The export's input for an accepted assessment the caller was allowed to read."""
    answers = {
        answer.outcome_id: answer
        for answer in session.scalars(select(Answer).where(Answer.assessment_id == assessment.id))
    }
    profile = loaded.profiles.get(assessment.profile_id)
    if profile is None:
        raise ValidationFailed(
            f"assessment {assessment.id} names profile {assessment.profile_id!r}, which "
            f"{loaded.framework.framework_id} {loaded.framework.version} does not have"
        )
    checks = _checks_by_outcome(loaded, _latest_findings(session, assessment))
    outcomes = []
    for outcome in loaded.framework.outcomes():
        answer = answers.get(outcome.id)
        # Outcomes in the profile's scope count even unanswered (as not achieved), as in scoring.
        if profile.target_for(outcome) is None and answer is None:
            continue
        claim = claimed_level(
            outcome,
            None if answer is None else tuple(answer.indicators_met),
            False if answer is None else answer.not_applicable,
            "" if answer is None else answer.justification,
        )
        outcomes.append(
            OutcomeResult(
                outcome_id=outcome.id,
                label=outcome.title,
                level=LEVEL_NAMES[claim.level],
                rule=claim.rule,
                indicators_met=[] if answer is None else list(answer.indicators_met),
                provenance=None if answer is None else str(answer.provenance),
                review_status=None if answer is None else answer.review_status,
                answered_at=None if answer is None else answer.answered_at,
                checks=checks.get(outcome.id, []),
            )
        )
    organisation = session.get(Organisation, assessment.organisation_id)
    product = None if assessment.product_id is None else session.get(Product, assessment.product_id)
    assert organisation is not None  # a foreign key
    framework = loaded.framework
    return AssessmentResultsInput(
        assessment_id=assessment.id,
        assessment_version=assessment.version,
        organisation_name=organisation.name,
        product_name=None if product is None else product.name,
        framework_id=framework.framework_id,
        framework_version=framework.version,
        framework_title=framework.title,
        content_sha256=loaded.content_sha256,
        profile_id=profile.id,
        profile_title=profile.title,
        submitted_at=assessment.submitted_at or assessment.created_at,
        accepted_at=_accepted_at(session, assessment),
        outcomes=outcomes,
    )


def export_assessment_results(session: Session, principal: Principal, assessment_id: int) -> dict:
    """The validated OSCAL assessment-results document of an accepted assessment."""
    assessment = load_visible(
        session, Assessment, assessment_id, principal, "assessment.read", "assessment"
    )
    if assessment.status != AssessmentStatus.ACCEPTED:
        raise ValidationFailed(
            f"assessment {assessment_id} is {assessment.status.value.replace('_', ' ')}; only an "
            "assessment an assessor has accepted in full is exported as OSCAL results"
        )
    source = gather_results(session, assessment, framework_of(session, assessment))
    try:
        document = assessment_results_document(source)
    except (UrnError, ValidationError) as exc:
        raise ExportInvalid(f"assessment {assessment_id} cannot be exported: {exc}") from exc
    problems = oscal_schema_errors(document)
    if problems:
        raise ExportInvalid(
            f"assessment {assessment_id}: the OSCAL results do not validate: " + "; ".join(problems)
        )
    return document
