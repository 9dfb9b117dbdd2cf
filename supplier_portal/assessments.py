"""Self-assessment: start a draft, answer outcomes, submit. Submitted versions are never edited;
a change starts a new version that supersedes the old one when submitted."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from frameworks.inference import inferred_note
from frameworks.loader import LoadedFramework
from frameworks.urns import outcome_urn
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.assessment_frameworks import framework_named, framework_of
from posture.audit import hold_append_lock, record
from posture.framework_registry import register_framework
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.identity.scoped import load_visible, within_reach
from posture.monitoring.changes import PROFILE_RETARGETED
from posture.storage.locks import hold_exclusive
from posture.storage.models import Answer, Assessment, FrameworkVersion, Organisation, Product
from posture.storage.models.enums import AssessmentStatus, OrgKind, Provenance
from posture.target_profiles import (
    Retargeted,
    TargetProfile,
    organisation_target,
    product_profile_lock,
    product_target,
    raise_target_alert,
    retarget,
    subject_target,
    supplier_rules,
)
from supplier_portal.assessment_guide import unanswered_outcomes
from supplier_portal.forms import AnswerForm
from supplier_portal.products import get_product


def assessment_lock(assessment_id: int) -> str:
    """The lock every change to an assessment's answers and their review holds."""
    return f"assessment:{assessment_id}"


def lock_assessment(session: Session, assessment_id: int) -> None:
    """Hold the assessment's lock until the transaction ends. The audit append lock is taken
    first, as every path that holds another lock as well does (posture/audit.py), so no two
    transactions can each hold one and wait for the other."""
    hold_append_lock(session)
    hold_exclusive(session, assessment_lock(assessment_id))


def get_assessment(
    session: Session, principal: Principal, assessment_id: int, permission: str = "assessment.read"
) -> Assessment:
    return load_visible(session, Assessment, assessment_id, principal, permission, "assessment")


def assessments_query(
    principal: Principal, product_id: int | None = None, status: str | None = None
) -> Select[tuple[Assessment]]:
    """The assessments the principal may see, oldest first."""
    query = select(Assessment).order_by(Assessment.id)
    query = within_reach(query, Assessment.organisation_id, principal, "assessment.read")
    if product_id is not None:
        query = query.where(Assessment.product_id == product_id)
    if status is not None:
        query = query.where(Assessment.status == status)
    return query


def list_assessments(session: Session, principal: Principal) -> list[Assessment]:
    return list(session.scalars(assessments_query(principal)))


def _subject_profile(
    session: Session,
    loaded: LoadedFramework,
    organisation: Organisation,
    product: Product | None,
    profile_id: str | None,
) -> str:
    """The profile the assessment is measured against. A supplier's is derived from its facts
    and cannot be chosen; a force chooses among the force profiles for its own posture."""
    if organisation.kind == OrgKind.SUPPLIER:
        target = (
            product_target(session, loaded, product)
            if product is not None
            else organisation_target(session, loaded, organisation.id)
        )
        if profile_id is not None and profile_id != target.profile_id:
            raise ValidationFailed(
                f"profile: a supplier's profile is derived from its facts, not chosen: "
                f"{target.explain()}"
            )
        return target.profile_id
    if profile_id is None:
        raise ValidationFailed("profile: choose the force profile to assess against")
    profile = loaded.profiles.get(profile_id)
    if profile is None:
        raise ValidationFailed(
            f"profile: unknown profile {profile_id!r}; choose one of {', '.join(loaded.profiles)}"
        )
    if profile.subject.value != "force":
        raise ValidationFailed(f"profile: {profile_id} is for {profile.subject.value} subjects")
    return profile_id


def supplier_target(
    session: Session,
    principal: Principal,
    organisation_id: int,
    product_id: int | None,
    framework: str | None = None,
) -> TargetProfile:
    """The profile a supplier or its product must be assessed against, and why."""
    require(principal, "assessment.read", organisation_id, "organisation")
    loaded = framework_named(framework)
    if product_id is None:
        return organisation_target(session, loaded, organisation_id)
    product = get_product(session, principal, product_id)
    if product.organisation_id != organisation_id:
        raise NotFound("product not found")
    return product_target(session, loaded, product)


def start_assessment(
    session: Session,
    principal: Principal,
    organisation_id: int,
    product_id: int | None,
    profile_id: str | None = None,
    framework: str | None = None,
) -> Assessment:
    """Open a draft against a framework (`ncsc-caf-4.0`; PTSbD when None); an existing draft for
    the same subject and framework is returned instead of a second one. Versions count per
    framework: a CAF assessment never supersedes a PTSbD one. A supplier's profile is derived
    (`profile_id`, if given, must be that one); a force names its own."""
    require(principal, "assessment.write", organisation_id, "organisation")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    product = None
    if product_id is not None:
        product = get_product(session, principal, product_id, "product.write")
        if product.organisation_id != organisation_id:
            raise NotFound("product not found")
    loaded = framework_named(framework)
    if product is not None:
        # Derived under the lock a change of the product's facts holds, so a draft is never
        # started against a target that a change committing now is moving away from.
        hold_append_lock(session)
        hold_exclusive(session, product_profile_lock(product.id))
        session.refresh(product)
    profile_id = _subject_profile(session, loaded, organisation, product, profile_id)
    framework_row = register_framework(session, loaded)
    same_framework = select(FrameworkVersion.id).where(
        FrameworkVersion.framework_id == loaded.framework.framework_id
    )
    subject = (
        Assessment.organisation_id == organisation_id,
        Assessment.product_id.is_(None)
        if product_id is None
        else Assessment.product_id == product_id,
        Assessment.framework_version_id.in_(same_framework),
    )
    draft = session.scalar(
        select(Assessment).where(*subject, Assessment.status == AssessmentStatus.DRAFT)
    )
    if draft is not None:
        if draft.framework_version_id != framework_row.id:
            # One draft per subject and framework: a second against another version would race
            # the first to supersede the subject's last submitted assessment.
            raise ValidationFailed(
                f"framework: a draft against {draft.framework} is open (assessment {draft.id}); "
                "submit it first"
            )
        return draft
    latest = session.scalar(select(func.max(Assessment.version)).where(*subject)) or 0
    previous = session.scalar(select(Assessment.id).where(*subject, Assessment.version == latest))
    assessment = Assessment(
        organisation_id=organisation_id,
        product_id=product_id,
        framework_version_id=framework_row.id,
        profile_id=profile_id,
        status=AssessmentStatus.DRAFT,
        version=latest + 1,
        supersedes_id=previous,
        created_by_user_id=principal.user_id,
    )
    session.add(assessment)
    session.flush()
    record(
        session,
        actor_of(principal),
        "assessment.started",
        "assessment",
        assessment.id,
        {
            "product_id": product_id,
            "profile": profile_id,
            "version": assessment.version,
            "framework": framework_row.framework_id + " " + framework_row.version,
        },
        organisation_id=organisation_id,
    )
    return assessment


def list_answers(session: Session, principal: Principal, assessment_id: int) -> list[Answer]:
    get_assessment(session, principal, assessment_id)
    return list(
        session.scalars(
            select(Answer).where(Answer.assessment_id == assessment_id).order_by(Answer.id)
        )
    )


def save_answer(
    session: Session, principal: Principal, assessment_id: int, form: AnswerForm
) -> Answer:
    assessment = get_assessment(session, principal, assessment_id, "assessment.write")
    lock_assessment(session, assessment_id)
    session.refresh(assessment)
    if assessment.status != AssessmentStatus.DRAFT:
        raise ValidationFailed("this assessment was submitted; start a new version to change it")
    loaded = framework_of(session, assessment)
    profile = loaded.profiles[assessment.profile_id]
    try:
        outcome = loaded.framework.outcome(form.outcome_id)
    except KeyError:
        raise ValidationFailed(f"outcome_id: unknown outcome {form.outcome_id!r}") from None
    if profile.target_for(outcome) is None:
        raise ValidationFailed(f"outcome_id: {outcome.id} is out of scope for {profile.id}")
    own = {i.id for level in outcome.indicators.by_level().values() for i in level}
    foreign = [i for i in form.indicators_met if i not in own]
    if foreign:
        raise ValidationFailed(
            f"indicators_met: {', '.join(foreign)} do not belong to {outcome.id}"
        )
    answer = session.scalar(
        select(Answer).where(Answer.assessment_id == assessment_id, Answer.outcome_id == outcome.id)
    )
    if answer is None:
        answer = Answer(
            assessment_id=assessment_id,
            outcome_id=outcome.id,
            outcome_urn=outcome_urn(*loaded.key, outcome.id),
            provenance=Provenance.SELF_ASSERTED,
        )
        session.add(answer)
    confirmed = answer.inferred_from is not None
    # Saving is how a person confirms or changes an inferred answer; it is theirs from now on.
    answer.inferred_from = None
    answer.indicators_met = sorted(set(form.indicators_met))
    answer.not_applicable, answer.justification = form.not_applicable, form.justification
    answer.comment, answer.answered_at = form.comment, utcnow()
    session.flush()
    record(
        session,
        actor_of(principal),
        "answer.saved",
        "answer",
        answer.id,
        {
            "assessment_id": assessment_id,
            **form.model_dump(mode="json"),
            **({"confirmed_inferred": True} if confirmed else {}),
        },
        organisation_id=assessment.organisation_id,
    )
    return answer


def submit_assessment(
    session: Session,
    principal: Principal,
    assessment_id: int,
    *,
    allow_unanswered: int | None = None,
) -> Assessment:
    """Submit a draft. An unanswered outcome counts as not achieved, so a partial assessment is
    a legitimate submission, but a person must see that first: the page passes the number of
    unanswered outcomes its user confirmed (0 without a confirmation) and more than that is
    refused. None, for the API and scripts, submits as they always have."""
    assessment = get_assessment(session, principal, assessment_id, "assessment.submit")
    lock_assessment(session, assessment_id)
    session.refresh(assessment)
    if assessment.status != AssessmentStatus.DRAFT:
        raise ValidationFailed("this assessment has already been submitted")
    answered = session.scalar(
        select(func.count()).select_from(Answer).where(Answer.assessment_id == assessment_id)
    )
    if not answered:
        raise ValidationFailed("answer at least one outcome before submitting")
    unconfirmed = unconfirmed_inferred(session, assessment_id)
    if unconfirmed:
        raise ValidationFailed(
            "confirm or change the inferred answers to "
            f"{', '.join(unconfirmed)} before submitting; an inferred answer is not yours until "
            "you save it"
        )
    _submit_against_target(session, assessment)
    if allow_unanswered is not None:
        _refuse_unconfirmed_gaps(session, assessment, allow_unanswered)
    now = utcnow()
    if assessment.supersedes_id is not None:
        previous = session.get(Assessment, assessment.supersedes_id)
        if previous is not None and previous.status != AssessmentStatus.DRAFT:
            previous.status = AssessmentStatus.SUPERSEDED
    assessment.status, assessment.submitted_at = AssessmentStatus.SUBMITTED, now
    record(
        session,
        actor_of(principal),
        "assessment.submitted",
        "assessment",
        assessment.id,
        {"answers": answered, "version": assessment.version},
        organisation_id=assessment.organisation_id,
    )
    return assessment


def _refuse_unconfirmed_gaps(session: Session, assessment: Assessment, allowed: int) -> None:
    loaded = framework_of(session, assessment)
    answered = session.scalars(
        select(Answer.outcome_id).where(Answer.assessment_id == assessment.id)
    )
    gaps = unanswered_outcomes(loaded.framework, loaded.profiles[assessment.profile_id], answered)
    if len(gaps) > allowed:
        raise ValidationFailed(
            f"confirm: {len(gaps)} outcomes in scope are unanswered ({', '.join(gaps[:5])}"
            f"{', ...' if len(gaps) > 5 else ''}) and each counts as not achieved; answer them "
            "or confirm submitting with them unanswered"
        )


def _behind_target(session: Session, assessment: Assessment) -> TargetProfile | None:
    """The target a supplier's draft should measure against, when it measures against another;
    None when it is on target, not a supplier's draft, or its framework derives no profile."""
    if assessment.status != AssessmentStatus.DRAFT:
        return None
    organisation = session.get(Organisation, assessment.organisation_id)
    if organisation is None or organisation.kind != OrgKind.SUPPLIER:
        return None
    try:
        target = subject_target(session, framework_of(session, assessment), assessment, None)
    except ValidationFailed:
        return None  # a framework that derives no supplier profile keeps the draft's own
    return None if target.profile_id == assessment.profile_id else target


def sync_draft_target(
    session: Session, principal: Principal, assessment_id: int
) -> Retargeted | None:
    """Move a supplier's draft to the target its facts derive now, if they moved without it
    (a change of the rules, say): audited, with an alert to the supplier. Pages and the API call
    this in a transaction of its own before a submission, so the move is kept even when the
    submission is then refused. A draft on target costs a read and takes no lock."""
    assessment = get_assessment(session, principal, assessment_id, "assessment.write")
    if _behind_target(session, assessment) is None:
        return None
    lock_assessment(session, assessment_id)
    if assessment.product_id is not None:
        hold_exclusive(session, product_profile_lock(assessment.product_id))
    session.refresh(assessment)
    if _behind_target(session, assessment) is None:
        return None
    moved = retarget(session, actor_of(principal), assessment)
    if moved is None or moved.held:
        return None
    raise_target_alert(
        session,
        actor_of(principal),
        assessment.organisation_id,
        assessment.product_id,
        PROFILE_RETARGETED,
        [moved],
    )
    return moved


def _submit_against_target(session: Session, assessment: Assessment) -> None:
    """A supplier's draft is submitted only against the target its facts derive now: one left
    below it would prove less than is needed. Refused, changing nothing; `sync_draft_target`
    moves it, after which the outcomes now in scope can be answered. (A draft above its target
    proves more than is needed and goes as it is.)"""
    if assessment.product_id is not None:
        hold_exclusive(session, product_profile_lock(assessment.product_id))
    target = _behind_target(session, assessment)
    if target is None:
        return
    rules = supplier_rules(framework_of(session, assessment))
    if assessment.profile_id in rules.order and rules.rank(target.profile_id) < rules.rank(
        assessment.profile_id
    ):
        return
    raise ValidationFailed(
        f"profile_id: this draft measures against {assessment.profile_id}, but it must now meet "
        f"{target.explain()}; open the draft again to move it there and answer the outcomes now "
        "in scope before submitting"
    )


def unconfirmed_inferred(session: Session, assessment_id: int) -> list[str]:
    """Labels of the outcomes whose answer is still only inferred, sorted."""
    return sorted(
        session.scalars(
            select(Answer.outcome_id).where(
                Answer.assessment_id == assessment_id, Answer.inferred_from.is_not(None)
            )
        )
    )


def inferred_label(answer: Answer) -> str | None:
    """ "inferred from PTSbD B2.c, confirm or change" for an unconfirmed inferred answer."""
    if answer.inferred_from is None:
        return None
    sources = answer.inferred_from.get("sources", [])
    return inferred_note(str(source.get("label", "")) for source in sources)
