"""What a challenge manager reads while judging runs, by name: who judges which entry, the
scores in, the declared conflicts, and the moderated standings (never bare ids)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posture.identity.permissions import NotFound, Principal, visible_organisations
from posture.storage.models import (
    Challenge,
    ChallengeEntry,
    JudgeAllocation,
    JudgeConflict,
    Organisation,
    User,
)
from supplier_portal.challenges.moderation import ModerationPolicy, weighted_total
from supplier_portal.challenges.results import moderated_entries


def person_name(user: User | None) -> str:
    if user is None:
        return "a former user"
    return user.display_name or user.email


def allocation_names(session: Session, allocation: JudgeAllocation) -> str:
    """ "<judge> on <entry title>": how a person refers to one judge's work on one entry."""
    entry = session.get(ChallengeEntry, allocation.entry_id)
    judge = person_name(session.get(User, allocation.judge_user_id))
    return f"{judge} on {entry.title if entry else 'a removed entry'!r}"


def _challenge(session: Session, principal: Principal, challenge_id: int) -> Challenge:
    visible_organisations(principal, "challenge.manage")
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("challenge not found")
    return challenge


def submitted_counts(session: Session, principal: Principal) -> dict[int, int]:
    """Challenge id -> how many entries have been submitted to it."""
    visible_organisations(principal, "challenge.manage")
    rows = session.execute(
        select(ChallengeEntry.challenge_id, func.count())
        .where(ChallengeEntry.status == "submitted")
        .group_by(ChallengeEntry.challenge_id)
    )
    return {challenge_id: int(count) for challenge_id, count in rows}


def results_text(challenge: Challenge) -> str:
    """What publishing the results decided, in a sentence."""
    ranking = (challenge.results or {}).get("ranking", [])
    ranked = sum(1 for row in ranking if row["rank"] is not None)
    funded = sum(1 for row in ranking if row["rank"] is not None and row["fund"])
    below = len(ranking) - ranked
    return (
        f"{ranked} of {len(ranking)} entries ranked ({funded} recommended for funding); "
        f"{below} below the quality threshold or out of scope."
    )


@dataclass(frozen=True)
class AllocationView:
    id: int
    judge: str
    entry: str
    supplier: str
    submitted_at: datetime | None
    total: float | None  # the judge's weighted total, 0-100, once scored
    excluded_reason: str | None
    conflict_declared: bool  # a conflict with the entrant, declared after this score

    @property
    def label(self) -> str:
        return f"{self.judge} on {self.entry} ({self.supplier})"


def _entries(session: Session, challenge_id: int) -> dict[int, tuple[str, str]]:
    """Entry id -> (title, entrant's name)."""
    rows = session.execute(
        select(ChallengeEntry.id, ChallengeEntry.title, Organisation.name)
        .join(Organisation, Organisation.id == ChallengeEntry.organisation_id)
        .where(ChallengeEntry.challenge_id == challenge_id)
    )
    return {entry_id: (title, supplier) for entry_id, title, supplier in rows}


def allocations_view(
    session: Session, principal: Principal, challenge_id: int
) -> list[AllocationView]:
    """Every judge's allocation on the challenge, by entry then judge."""
    challenge = _challenge(session, principal, challenge_id)
    entries = _entries(session, challenge_id)
    organisation_of = dict(
        session.execute(
            select(ChallengeEntry.id, ChallengeEntry.organisation_id).where(
                ChallengeEntry.challenge_id == challenge_id
            )
        ).all()
    )
    conflicts = {
        (c.judge_user_id, c.organisation_id)
        for c in session.scalars(
            select(JudgeConflict).where(JudgeConflict.challenge_id == challenge_id)
        )
    }
    views = []
    for allocation in session.scalars(
        select(JudgeAllocation).where(JudgeAllocation.challenge_id == challenge_id)
    ):
        title, supplier = entries[allocation.entry_id]
        total = None
        if allocation.scores is not None:
            scores = {k: v["score"] for k, v in allocation.scores.items()}
            total = round(weighted_total(challenge.rubric, scores), 2)
        views.append(
            AllocationView(
                id=allocation.id,
                judge=person_name(session.get(User, allocation.judge_user_id)),
                entry=title,
                supplier=supplier,
                submitted_at=allocation.submitted_at,
                total=total,
                excluded_reason=allocation.excluded_reason,
                conflict_declared=(
                    allocation.judge_user_id,
                    organisation_of[allocation.entry_id],
                )
                in conflicts,
            )
        )
    return sorted(views, key=lambda v: (v.entry.casefold(), v.judge.casefold(), v.id))


@dataclass(frozen=True)
class ConflictView:
    judge: str
    entrant: str
    reason: str
    declared_at: datetime


def conflicts_view(session: Session, principal: Principal, challenge_id: int) -> list[ConflictView]:
    _challenge(session, principal, challenge_id)
    rows = session.execute(
        select(JudgeConflict, User, Organisation)
        .join(User, User.id == JudgeConflict.judge_user_id)
        .join(Organisation, Organisation.id == JudgeConflict.organisation_id)
        .where(JudgeConflict.challenge_id == challenge_id)
        .order_by(JudgeConflict.declared_at, JudgeConflict.id)
    )
    return [
        ConflictView(person_name(user), organisation.name, conflict.reason, conflict.declared_at)
        for conflict, user, organisation in rows
    ]


def standings(
    session: Session, principal: Principal, challenge_id: int, policy: ModerationPolicy
) -> list[dict[str, object]]:
    """The moderated standings as a manager reads them: entries and outlying judges by name."""
    challenge = _challenge(session, principal, challenge_id)
    entries = _entries(session, challenge_id)
    judges = {v.id: v.judge for v in allocations_view(session, principal, challenge_id)}
    return [
        {
            "Rank": s.rank if s.rank is not None else "not ranked",
            "Entry": entries[s.entry_id][0],
            "Entrant": entries[s.entry_id][1],
            "Mean": s.mean,
            "Median": s.median,
            "Spread": s.spread,
            "Judges counted": s.judges_counted,
            "Outlying scores": ", ".join(judges.get(a, "a withdrawn judge") for a in s.outliers)
            or "none",
            "In scope": "yes" if s.in_scope else "no",
            "Fund": "yes" if s.fund else "no",
            "Meets threshold": "yes" if s.meets_quality else "no",
        }
        for s in moderated_entries(session, challenge, policy)
    ]
