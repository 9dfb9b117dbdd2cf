"""Judges: their allocations, the challenge and rubric they score against, blind scoring (never
of an entrant they declared a conflict with), and other judges' scores only after their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import (
    NotFound,
    PermissionDenied,
    Principal,
    visible_organisations,
)
from posture.storage.models import Challenge, ChallengeEntry, JudgeAllocation, Organisation
from supplier_portal.challenges.allocation import has_conflict
from supplier_portal.challenges.forms import ScoreForm


class JudgingTask(NamedTuple):
    """One entry for the judge to score, with what they need to read beside it."""

    allocation: JudgeAllocation
    entry: ChallengeEntry
    challenge: Challenge
    entrant: str  # the entrant's name: a conflict of interest is declared against it


def my_tasks(session: Session, principal: Principal) -> list[JudgingTask]:
    """The judge's allocations, each with its entry, challenge and entrant; unscored first."""
    tasks = []
    for allocation in my_allocations(session, principal):
        entry = session.get(ChallengeEntry, allocation.entry_id)
        challenge = session.get(Challenge, allocation.challenge_id)
        assert entry is not None
        assert challenge is not None
        entrant = session.get(Organisation, entry.organisation_id)
        tasks.append(JudgingTask(allocation, entry, challenge, entrant.name if entrant else ""))
    return sorted(tasks, key=lambda t: (t.allocation.submitted_at is not None, t.allocation.id))


def my_allocations(session: Session, principal: Principal) -> list[JudgeAllocation]:
    visible_organisations(principal, "challenge.judge")
    return list(
        session.scalars(
            select(JudgeAllocation)
            .where(JudgeAllocation.judge_user_id == principal.user_id)
            .order_by(JudgeAllocation.id)
        )
    )


def _mine(session: Session, principal: Principal, allocation_id: int) -> JudgeAllocation:
    visible_organisations(principal, "challenge.judge")
    allocation = session.get(JudgeAllocation, allocation_id)
    # Someone else's allocation reads as missing: judges work blind to each other.
    if allocation is None or allocation.judge_user_id != principal.user_id:
        raise NotFound("allocation not found")
    return allocation


def rubric_for(session: Session, principal: Principal, allocation_id: int) -> list[dict[str, Any]]:
    """The rubric the judge scores this allocation's entry against."""
    allocation = _mine(session, principal, allocation_id)
    challenge = session.get(Challenge, allocation.challenge_id)
    return list(challenge.rubric) if challenge else []


def challenge_for(session: Session, principal: Principal, allocation_id: int) -> Challenge:
    """The challenge the allocation's entry answers: its problem statement and rubric."""
    allocation = _mine(session, principal, allocation_id)
    challenge = session.get(Challenge, allocation.challenge_id)
    assert challenge is not None  # a foreign key
    return challenge


def entry_for_judging(session: Session, principal: Principal, allocation_id: int) -> ChallengeEntry:
    allocation = _mine(session, principal, allocation_id)
    entry = session.get(ChallengeEntry, allocation.entry_id)
    assert entry is not None
    return entry


def submit_score(
    session: Session,
    principal: Principal,
    allocation_id: int,
    form: ScoreForm,
    now: datetime | None = None,
) -> JudgeAllocation:
    allocation = _mine(session, principal, allocation_id)
    challenge = session.get(Challenge, allocation.challenge_id)
    entry = session.get(ChallengeEntry, allocation.entry_id)
    assert challenge is not None
    assert entry is not None
    # Declaring a conflict withdraws unscored allocations; this holds if one is made again
    # (or the declaration and an allocation race), so the judge's score never counts.
    if has_conflict(session, challenge.id, principal.user_id, entry.organisation_id):
        raise PermissionDenied(
            "you declared a conflict of interest with this entrant, so you cannot score its entry"
        )
    if challenge.status == "results_published":
        raise ValidationFailed("results are published; scores can no longer change")
    if allocation.submitted_at is not None:
        raise ValidationFailed("you have already submitted this score")
    if (now or utcnow()) < challenge.closes_at:
        raise ValidationFailed("scoring starts when entries close")
    rubric = {c["key"]: c for c in challenge.rubric}
    missing = sorted(set(rubric) - set(form.scores))
    if missing:
        raise ValidationFailed(f"scores: give a score and comment for {', '.join(missing)}")
    unknown = sorted(set(form.scores) - set(rubric))
    if unknown:
        raise ValidationFailed(f"scores: {', '.join(unknown)} are not criteria of this rubric")
    for key, given in form.scores.items():
        low, high = rubric[key]["scale_min"], rubric[key]["scale_max"]
        if not low <= given.score <= high:
            raise ValidationFailed(f"scores.{key}: {given.score} is outside the scale {low}-{high}")
    allocation.scores = {k: v.model_dump() for k, v in form.scores.items()}
    allocation.in_scope, allocation.fund = form.in_scope, form.fund
    allocation.submitted_at = now or utcnow()
    record(
        session,
        actor_of(principal),
        "challenge.score_submitted",
        "judge_allocation",
        allocation.id,
        {"entry_id": allocation.entry_id, "in_scope": form.in_scope, "fund": form.fund},
        organisation_id=challenge.organisation_id,
    )
    return allocation


def peer_scores(session: Session, principal: Principal, allocation_id: int) -> list[dict[str, Any]]:
    """Other judges' submitted scores for the same entry, only once this judge has submitted."""
    allocation = _mine(session, principal, allocation_id)
    if allocation.submitted_at is None:
        raise ValidationFailed("submit your own score before seeing other judges' scores")
    others = session.scalars(
        select(JudgeAllocation)
        .where(
            JudgeAllocation.entry_id == allocation.entry_id,
            JudgeAllocation.id != allocation.id,
            JudgeAllocation.submitted_at.is_not(None),
        )
        .order_by(JudgeAllocation.id)
    )
    return [
        {
            "judge": f"Judge {index}",
            "scores": other.scores,
            "in_scope": other.in_scope,
            "fund": other.fund,
        }
        for index, other in enumerate(others, start=2)
    ]
