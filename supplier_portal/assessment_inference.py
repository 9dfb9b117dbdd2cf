"""Fill a draft's empty answers from the subject's answers to another framework, marked inferred.

A force assessed against PTSbD that starts a CAF 4.0 assessment is offered CAF answers wherever a
crosswalk says a PTSbD outcome covers a CAF outcome whole. Each is held as inferred (it names the
outcomes it came from) until a person saves it, and the draft cannot be submitted before then.
A draft's own answers are never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.catalogue_view import catalogue_id_of
from frameworks.inference import InferredAnswer, infer_answers
from frameworks.library import shipped_library
from frameworks.schema import Level
from kernel.errors import ValidationFailed
from posture.assessment_frameworks import framework_of
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.scoring.load import counted_answers
from posture.scoring.rules import ACHIEVED, NOT_ACHIEVED, PARTIALLY_ACHIEVED, claimed_level
from posture.storage.models import Answer, Assessment
from posture.storage.models.enums import AssessmentStatus, Provenance
from supplier_portal.assessments import get_assessment, lock_assessment

LEVELS = {
    NOT_ACHIEVED: Level.NOT_ACHIEVED,
    PARTIALLY_ACHIEVED: Level.PARTIALLY_ACHIEVED,
    ACHIEVED: Level.ACHIEVED,
}
# Only answers someone stands behind speak for another catalogue: a submitted or reviewed one.
SOURCE_STATUSES = (
    AssessmentStatus.SUBMITTED,
    AssessmentStatus.UNDER_REVIEW,
    AssessmentStatus.ACCEPTED,
)


@dataclass(frozen=True)
class InferenceResult:
    source_assessment_id: int
    source_framework: str
    inferred: list[InferredAnswer]
    kept: list[str]  # outcomes the draft had already answered, left alone
    out_of_scope: list[str]  # inferred outcomes the draft's profile does not assess


def _source_assessment(
    session: Session, principal: Principal, draft: Assessment, source_id: int | None
) -> Assessment:
    if source_id is not None:
        source = get_assessment(session, principal, source_id)
        if (source.organisation_id, source.product_id) != (draft.organisation_id, draft.product_id):
            raise ValidationFailed("from: that assessment is of another subject")
        if source.status not in SOURCE_STATUSES:
            raise ValidationFailed("from: only a submitted assessment can speak for another")
        return source
    candidates = session.scalars(
        select(Assessment)
        .where(
            Assessment.organisation_id == draft.organisation_id,
            Assessment.product_id.is_(None)
            if draft.product_id is None
            else Assessment.product_id == draft.product_id,
            Assessment.framework_version_id != draft.framework_version_id,
            Assessment.status.in_(SOURCE_STATUSES),
        )
        .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
    )
    # The newest assessment against a framework a crosswalk links to the draft's: a newer one
    # that no crosswalk joins to it could speak for nothing.
    linked = shipped_library().linked_to(framework_of(session, draft))
    for candidate in candidates:
        if framework_of(session, candidate).key in linked:
            return candidate
    raise ValidationFailed(
        "this subject has no submitted assessment against a framework crosswalked to this one "
        "to infer from"
    )


def infer_into_draft(
    session: Session, principal: Principal, assessment_id: int, source_id: int | None = None
) -> InferenceResult:
    draft = get_assessment(session, principal, assessment_id, "assessment.write")
    # Under the assessment's lock (as answers are saved), so what is read below is still true
    # when the inferred answers are written: none lands on an outcome answered meanwhile.
    lock_assessment(session, draft.id)
    session.refresh(draft)
    if draft.status != AssessmentStatus.DRAFT:
        raise ValidationFailed("answers can be inferred only into a draft")
    source = _source_assessment(session, principal, draft, source_id)
    target_framework = framework_of(session, draft)
    source_framework = framework_of(session, source)
    if source_framework.key == target_framework.key:
        raise ValidationFailed("from: that assessment is against the same framework")
    source_outcomes = {o.id: o for o in source_framework.framework.outcomes()}
    levels: dict[str, Level] = {}
    for answer in session.scalars(
        # An answer an assessor rejected is withdrawn, as scoring counts it (counted_answers).
        select(Answer).where(
            Answer.assessment_id == source.id,
            Answer.inferred_from.is_(None),
            counted_answers(),
        )
    ):
        outcome = source_outcomes.get(answer.outcome_id)
        if outcome is None:
            continue
        claim = claimed_level(
            outcome, tuple(answer.indicators_met), answer.not_applicable, answer.justification
        )
        if claim.level in LEVELS:  # not applicable implies nothing elsewhere
            levels[outcome.id] = LEVELS[claim.level]
    library = shipped_library()
    offered = infer_answers(
        source_framework, levels, target_framework, library.crosswalks, library.coverage_rules
    )
    profile = target_framework.profiles[draft.profile_id]
    outcomes = {o.id: o for o in target_framework.framework.outcomes()}
    answered = set(
        session.scalars(select(Answer.outcome_id).where(Answer.assessment_id == draft.id))
    )
    written, kept, out_of_scope = [], [], []
    for outcome_id, inferred in offered.items():
        if profile.target_for(outcomes[outcome_id]) is None:
            out_of_scope.append(outcome_id)
            continue
        if outcome_id in answered:
            kept.append(outcome_id)
            continue
        session.add(
            Answer(
                assessment_id=draft.id,
                outcome_id=outcome_id,
                outcome_urn=inferred.urn,
                indicators_met=list(inferred.indicators_met),
                provenance=Provenance.SELF_ASSERTED,
                inferred_from={
                    "assessment_id": source.id,
                    "sources": [{"urn": s.urn, "label": s.label} for s in inferred.sources],
                },
            )
        )
        written.append(inferred)
    session.flush()
    source_key = catalogue_id_of(source_framework.framework)
    record(
        session,
        actor_of(principal),
        "answers.inferred",
        "assessment",
        draft.id,
        {
            "from": source.id,
            "framework": source_key,
            "inferred": [i.outcome_id for i in written],
            "kept": kept,
        },
        organisation_id=draft.organisation_id,
    )
    return InferenceResult(source.id, source_key, written, kept, out_of_scope)
