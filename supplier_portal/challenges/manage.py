"""Challenge managers: create, edit and publish calls, exclude outliers with a reason, and
publish results (conflicts and allocation are supplier_portal.challenges.allocation, named here
too for callers that know them as the manager's). Every change is audited."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.storage.models import Challenge, ChallengeEntry, JudgeAllocation, Organisation
from supplier_portal.challenges.allocation import _managed
from supplier_portal.challenges.allocation import allocate as allocate
from supplier_portal.challenges.allocation import allocate_judges as allocate_judges
from supplier_portal.challenges.allocation import declare_conflict as declare_conflict
from supplier_portal.challenges.forms import ChallengeForm
from supplier_portal.challenges.moderation import moderation_policy
from supplier_portal.challenges.oversight import allocation_names
from supplier_portal.challenges.results import moderated_entries


def managed_challenges(session: Session, principal: Principal) -> list[Challenge]:
    """Every challenge, newest first, for those who run them."""
    visible_organisations(principal, "challenge.manage")
    return list(session.scalars(select(Challenge).order_by(Challenge.id.desc())))


def create_challenge(
    session: Session, principal: Principal, organisation_id: int, form: ChallengeForm
) -> Challenge:
    require(principal, "challenge.manage", organisation_id, "organisation")
    if session.get(Organisation, organisation_id) is None:
        raise NotFound("organisation not found")
    challenge = Challenge(
        organisation_id=organisation_id,
        title=form.title,
        problem_statement=form.problem_statement,
        phase=form.phase,
        opens_at=form.opens_at,
        closes_at=form.closes_at,
        status="draft",
        quality_threshold=form.quality_threshold,
        assessors_per_entry=form.assessors_per_entry,
        min_posture_band=form.min_posture_band,
        rubric=[c.model_dump() for c in form.rubric],
        eligibility=[q.model_dump() for q in form.eligibility],
        created_by_user_id=principal.user_id,
    )
    session.add(challenge)
    session.flush()
    record(
        session,
        actor_of(principal),
        "challenge.created",
        "challenge",
        challenge.id,
        {"title": form.title},
        organisation_id=organisation_id,
    )
    return challenge


def update_draft(
    session: Session, principal: Principal, challenge_id: int, form: ChallengeForm
) -> Challenge:
    """Change a draft: its wording, times, rubric, bands and eligibility questions. Once
    published, entrants have read them, so they are fixed."""
    challenge = _managed(session, principal, challenge_id)
    if challenge.status != "draft":
        raise ValidationFailed("only a draft challenge can be changed; this one is published")
    challenge.title, challenge.problem_statement = form.title, form.problem_statement
    challenge.phase, challenge.opens_at, challenge.closes_at = (
        form.phase,
        form.opens_at,
        form.closes_at,
    )
    challenge.quality_threshold = form.quality_threshold
    challenge.assessors_per_entry = form.assessors_per_entry
    challenge.min_posture_band = form.min_posture_band
    challenge.rubric = [c.model_dump() for c in form.rubric]
    challenge.eligibility = [q.model_dump() for q in form.eligibility]
    record(
        session,
        actor_of(principal),
        "challenge.updated",
        "challenge",
        challenge.id,
        {"title": form.title},
        organisation_id=challenge.organisation_id,
    )
    return challenge


def publish_challenge(
    session: Session, principal: Principal, challenge_id: int, now: datetime | None = None
) -> Challenge:
    challenge = _managed(session, principal, challenge_id)
    if challenge.status != "draft":
        raise ValidationFailed("only a draft challenge can be published")
    if (now or utcnow()) >= challenge.closes_at:
        raise ValidationFailed("the closing time has passed; move it before publishing")
    challenge.status, challenge.published_at = "published", now or utcnow()
    record(
        session,
        actor_of(principal),
        "challenge.published",
        "challenge",
        challenge.id,
        organisation_id=challenge.organisation_id,
    )
    return challenge


def exclude_score(
    session: Session, principal: Principal, allocation_id: int, reason: str
) -> JudgeAllocation:
    allocation = session.get(JudgeAllocation, allocation_id)
    if allocation is None:
        raise NotFound("score not found")
    challenge = _managed(session, principal, allocation.challenge_id)
    if challenge.status == "results_published":
        raise ValidationFailed("results are published; moderation is closed")
    if allocation.submitted_at is None:
        raise ValidationFailed("only a submitted score can be excluded")
    if len(reason.strip()) < 10:
        raise ValidationFailed("reason: record why this score is excluded")
    allocation.excluded_reason = reason.strip()
    allocation.excluded_by_user_id = principal.user_id
    record(
        session,
        actor_of(principal),
        "challenge.score_excluded",
        "judge_allocation",
        allocation.id,
        {"reason": allocation.excluded_reason},
        organisation_id=challenge.organisation_id,
    )
    return allocation


def publish_results(
    session: Session, principal: Principal, challenge_id: int, now: datetime | None = None
) -> Challenge:
    challenge = _managed(session, principal, challenge_id)
    if challenge.status != "published" or (now or utcnow()) < challenge.closes_at:
        raise ValidationFailed("results can be published once a published challenge has closed")
    allocations = list(
        session.scalars(select(JudgeAllocation).where(JudgeAllocation.challenge_id == challenge_id))
    )
    if not allocations:
        raise ValidationFailed("allocate judges, and have them score, before publishing results")
    waiting = [a for a in allocations if a.submitted_at is None]
    if waiting:
        names = ", ".join(allocation_names(session, a) for a in waiting[:3])
        more = f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
        raise ValidationFailed(
            f"every allocated judge must submit a score first; waiting for {names}{more}"
        )
    # A judge who declared a conflict came off their entries; those wait for a replacement.
    judged = Counter(a.entry_id for a in allocations)
    entries = session.scalars(
        select(ChallengeEntry)
        .where(ChallengeEntry.challenge_id == challenge_id, ChallengeEntry.status == "submitted")
        .order_by(ChallengeEntry.id)
    )
    for entry in entries:
        if judged[entry.id] < challenge.assessors_per_entry:
            raise ValidationFailed(
                f"the entry {entry.title!r} has {judged[entry.id]} of "
                f"{challenge.assessors_per_entry} judges; allocate judges again before "
                "publishing results"
            )
    ranking = moderated_entries(session, challenge, moderation_policy())
    challenge.results = {
        "ranking": [
            {
                "entry_id": e.entry_id,
                "rank": e.rank,
                "mean": e.mean,
                "median": e.median,
                "spread": e.spread,
                "in_scope": e.in_scope,
                "fund": e.fund,
                "meets_quality": e.meets_quality,
                "judges": e.judges_counted,
            }
            for e in ranking
        ]
    }
    challenge.status, challenge.results_published_at = "results_published", now or utcnow()
    record(
        session,
        actor_of(principal),
        "challenge.results_published",
        "challenge",
        challenge.id,
        challenge.results,
        organisation_id=challenge.organisation_id,
    )
    return challenge
