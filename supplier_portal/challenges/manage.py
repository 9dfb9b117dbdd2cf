"""Challenge managers: create and publish calls, record conflicts, allocate judges, exclude
outliers with a reason, and publish results. Every change is audited."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.storage.models import (
    Challenge,
    ChallengeEntry,
    JudgeAllocation,
    JudgeConflict,
    Membership,
    Organisation,
)
from posture.storage.models.enums import Role
from supplier_portal.challenges.forms import ChallengeForm
from supplier_portal.challenges.moderation import moderation_policy
from supplier_portal.challenges.results import moderated_entries


def managed_challenges(session: Session, principal: Principal) -> list[Challenge]:
    """Every challenge, newest first, for those who run them."""
    visible_organisations(principal, "challenge.manage")
    return list(session.scalars(select(Challenge).order_by(Challenge.id.desc())))


def _managed(session: Session, principal: Principal, challenge_id: int) -> Challenge:
    visible_organisations(principal, "challenge.manage")
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("challenge not found")
    return challenge


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


def declare_conflict(
    session: Session,
    principal: Principal,
    challenge_id: int,
    judge_user_id: int,
    organisation_id: int,
    reason: str,
) -> JudgeConflict:
    """Judges declare their own conflicts; managers may record them on a judge's behalf.

    The judge comes off the organisation's entries they have not scored yet, so that allocating
    judges again gives those entries someone else; a score already submitted stays for
    moderation to exclude with a reason."""
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("challenge not found")
    if principal.user_id != judge_user_id:
        visible_organisations(principal, "challenge.manage")
    else:
        visible_organisations(principal, "challenge.judge")
    if len(reason.strip()) < 5:
        raise ValidationFailed("reason: say what the conflict of interest is")
    conflict = JudgeConflict(
        challenge_id=challenge_id,
        judge_user_id=judge_user_id,
        organisation_id=organisation_id,
        reason=reason.strip(),
    )
    session.add(conflict)
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed("that conflict is already recorded") from None
    withdrawn = list(
        session.scalars(
            select(JudgeAllocation)
            .join(ChallengeEntry, ChallengeEntry.id == JudgeAllocation.entry_id)
            .where(
                JudgeAllocation.challenge_id == challenge_id,
                JudgeAllocation.judge_user_id == judge_user_id,
                JudgeAllocation.submitted_at.is_(None),
                ChallengeEntry.organisation_id == organisation_id,
            )
            .order_by(JudgeAllocation.id)
        )
    )
    for allocation in withdrawn:
        session.delete(allocation)
    session.flush()
    record(
        session,
        actor_of(principal),
        "challenge.conflict_declared",
        "challenge",
        challenge_id,
        {
            "judge_user_id": judge_user_id,
            "organisation_id": organisation_id,
            "withdrawn_from_entries": [a.entry_id for a in withdrawn],
        },
        organisation_id=challenge.organisation_id,
    )
    return conflict


def _judges(session: Session) -> dict[int, set[int]]:
    """Judge user id -> organisations they belong to (in any role)."""
    judges = set(
        session.scalars(select(Membership.user_id).where(Membership.role == Role.CHALLENGE_JUDGE))
    )
    organisations: dict[int, set[int]] = {judge: set() for judge in judges}
    for user_id, organisation_id in session.execute(
        select(Membership.user_id, Membership.organisation_id).where(Membership.user_id.in_(judges))
    ):
        organisations[user_id].add(organisation_id)
    return organisations


def allocate_judges(
    session: Session, principal: Principal, challenge_id: int, now: datetime | None = None
) -> list[JudgeAllocation]:
    """After close: give every submitted entry its judges, balancing load, never a judge from
    the entrant's organisation or one with a declared conflict. Refused whole if impossible."""
    challenge = _managed(session, principal, challenge_id)
    if (now or utcnow()) < challenge.closes_at:
        raise ValidationFailed("allocate judges after the challenge closes")
    entries = list(
        session.scalars(
            select(ChallengeEntry)
            .where(
                ChallengeEntry.challenge_id == challenge_id, ChallengeEntry.status == "submitted"
            )
            .order_by(ChallengeEntry.id)
        )
    )
    existing = list(
        session.scalars(select(JudgeAllocation).where(JudgeAllocation.challenge_id == challenge_id))
    )
    load = Counter(a.judge_user_id for a in existing)
    assigned = {(a.entry_id, a.judge_user_id) for a in existing}
    conflicts = {
        (c.judge_user_id, c.organisation_id)
        for c in session.scalars(
            select(JudgeConflict).where(JudgeConflict.challenge_id == challenge_id)
        )
    }
    judges = _judges(session)
    created = []
    for entry in entries:
        have = sum(1 for (e, _) in assigned if e == entry.id)
        eligible = [
            j
            for j, orgs in judges.items()
            if entry.organisation_id not in orgs
            and (j, entry.organisation_id) not in conflicts
            and (entry.id, j) not in assigned
        ]
        needed = challenge.assessors_per_entry - have
        if needed > len(eligible):
            raise ValidationFailed(
                f"entry {entry.id} needs {needed} more judge(s) but only {len(eligible)} are "
                "free of conflicts; add judges or lower assessors per entry"
            )
        for judge in sorted(eligible, key=lambda j: (load[j], j))[: max(needed, 0)]:
            allocation = JudgeAllocation(
                challenge_id=challenge_id, entry_id=entry.id, judge_user_id=judge
            )
            session.add(allocation)
            load[judge] += 1
            assigned.add((entry.id, judge))
            created.append(allocation)
    session.flush()
    record(
        session,
        actor_of(principal),
        "challenge.judges_allocated",
        "challenge",
        challenge_id,
        {"allocations": [(a.entry_id, a.judge_user_id) for a in created]},
        organisation_id=challenge.organisation_id,
    )
    return created


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
    if not allocations or any(a.submitted_at is None for a in allocations):
        raise ValidationFailed("every allocated judge must submit a score first")
    # A judge who declared a conflict came off their entries; those wait for a replacement.
    judged = Counter(a.entry_id for a in allocations)
    entries = session.scalars(
        select(ChallengeEntry.id)
        .where(ChallengeEntry.challenge_id == challenge_id, ChallengeEntry.status == "submitted")
        .order_by(ChallengeEntry.id)
    )
    for entry_id in entries:
        if judged[entry_id] < challenge.assessors_per_entry:
            raise ValidationFailed(
                f"entry {entry_id} has {judged[entry_id]} of {challenge.assessors_per_entry} "
                "judges; allocate judges again before publishing results"
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
