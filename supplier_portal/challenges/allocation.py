"""Judges for a challenge's entries: conflicts of interest declared (by the judge, or by a
manager on their behalf) and allocation that balances load and honours them, reporting what it
did in words. Every change is audited."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, visible_organisations
from posture.storage.models import (
    Challenge,
    ChallengeEntry,
    JudgeAllocation,
    JudgeConflict,
    Membership,
    Organisation,
)
from posture.storage.models.enums import Role


def _managed(session: Session, principal: Principal, challenge_id: int) -> Challenge:
    visible_organisations(principal, "challenge.manage")
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("challenge not found")
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
    judges again gives those entries someone else, and may not score them while the conflict
    stands (judging.submit_score); a score already submitted stays for moderation to exclude
    with a reason, and the manager sees it marked."""
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("challenge not found")
    if principal.user_id != judge_user_id:
        visible_organisations(principal, "challenge.manage")
    else:
        visible_organisations(principal, "challenge.judge")
    if session.get(Organisation, organisation_id) is None:
        raise NotFound("organisation not found")
    if challenge.status == "results_published":
        raise ValidationFailed("results are published; the judging is over")
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


def has_conflict(
    session: Session, challenge_id: int, judge_user_id: int, organisation_id: int
) -> bool:
    return (
        session.scalar(
            select(JudgeConflict.id).where(
                JudgeConflict.challenge_id == challenge_id,
                JudgeConflict.judge_user_id == judge_user_id,
                JudgeConflict.organisation_id == organisation_id,
            )
        )
        is not None
    )


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


@dataclass
class AllocationReport:
    """What one allocation did, for the manager who asked for it."""

    entries: int = 0  # submitted entries looked at
    created: list[JudgeAllocation] = field(default_factory=list)
    already_complete: int = 0  # entries that had all their judges before
    skipped_conflicts: int = 0  # judge-entry pairs a declared conflict ruled out
    skipped_own_organisation: int = 0  # ...and pairs where the judge works for the entrant

    @property
    def text(self) -> str:
        if not self.entries:
            return "No entry has been submitted, so there was no one to allocate."
        judges = len({a.judge_user_id for a in self.created})
        given = len({a.entry_id for a in self.created})
        parts = [
            f"Allocated {judges} judge{_s(judges)} to {given} entr{'y' if given == 1 else 'ies'}"
            f" ({len(self.created)} allocation{_s(len(self.created))})."
        ]
        if self.already_complete:
            parts.append(
                f"{self.already_complete} entr{'y' if self.already_complete == 1 else 'ies'}"
                " already had all their judges."
            )
        parts.append(
            f"Skipped {self.skipped_conflicts} judge-entry pair{_s(self.skipped_conflicts)} for a"
            f" declared conflict and {self.skipped_own_organisation} where the judge works for"
            " the entrant."
        )
        return " ".join(parts)


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def allocate(
    session: Session, principal: Principal, challenge_id: int, now: datetime | None = None
) -> AllocationReport:
    """After close: give every submitted entry its judges, balancing load, never a judge from
    the entrant's organisation or one with a declared conflict. Refused whole if impossible."""
    challenge = _managed(session, principal, challenge_id)
    if challenge.status != "published":
        raise ValidationFailed("judges are allocated to a published challenge's entries")
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
    report = AllocationReport(entries=len(entries))
    for entry in entries:
        have = sum(1 for (e, _) in assigned if e == entry.id)
        own = {j for j, orgs in judges.items() if entry.organisation_id in orgs}
        conflicted = {j for j in judges if (j, entry.organisation_id) in conflicts} - own
        report.skipped_own_organisation += len(own)
        report.skipped_conflicts += len(conflicted)
        ruled_out = own | conflicted
        eligible = [j for j in judges if j not in ruled_out and (entry.id, j) not in assigned]
        needed = challenge.assessors_per_entry - have
        if needed <= 0:
            report.already_complete += 1
            continue
        if needed > len(eligible):
            entrant = session.get(Organisation, entry.organisation_id)
            raise ValidationFailed(
                f"the entry {entry.title!r} from {entrant.name if entrant else 'its entrant'} "
                f"needs {needed} more judge(s) but only {len(eligible)} are free of conflicts; "
                "add judges or lower the judges per entry"
            )
        for judge in sorted(eligible, key=lambda j: (load[j], j))[:needed]:
            allocation = JudgeAllocation(
                challenge_id=challenge_id, entry_id=entry.id, judge_user_id=judge
            )
            session.add(allocation)
            load[judge] += 1
            assigned.add((entry.id, judge))
            report.created.append(allocation)
    session.flush()
    record(
        session,
        actor_of(principal),
        "challenge.judges_allocated",
        "challenge",
        challenge_id,
        {"allocations": [(a.entry_id, a.judge_user_id) for a in report.created]},
        organisation_id=challenge.organisation_id,
    )
    return report


def allocate_judges(
    session: Session, principal: Principal, challenge_id: int, now: datetime | None = None
) -> list[JudgeAllocation]:
    """The allocations `allocate` made (for callers that need no report)."""
    return allocate(session, principal, challenge_id, now).created
