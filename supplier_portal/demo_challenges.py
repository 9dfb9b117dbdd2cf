"""The demo's innovation challenges, made through the services as the people would make them:
one closed, its entries allocated to judges (one judge declared a conflict first) and scored but
for the demo judge's last entry, so the judge has work and the manager can publish results once
it is scored; and one open now for suppliers to enter. Dates follow the real clock, because the
pages judge "open" and "closed" by it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.identity.accounts import principal_for
from posture.identity.permissions import Principal
from posture.storage.models import JudgeAllocation, Membership, Organisation, User
from posture.storage.models.enums import Role
from supplier_portal.challenges import entries, judging, manage
from supplier_portal.challenges.allocation import allocate_judges, declare_conflict
from supplier_portal.challenges.examples import EXAMPLE_QUESTIONS, EXAMPLE_RUBRIC
from supplier_portal.challenges.forms import EntryForm, ScoreForm, parse_challenge_form
from supplier_portal.forms import parse_form

PROPOSALS = (
    "On-device triage of seized phones that ranks media for review and logs every step.",
    "A shared redaction service that forces call from their evidence systems, with audit.",
    "Speech-to-text for interview recordings, held in the UK, with a reviewer in the loop.",
    "Hash-matching of known material at ingest, so reviewers never see it twice.",
)
# (impact, feasibility), each 0-10, per entry, so the ranking has an order to explain.
MARKS = ((9, 7), (7, 9), (5, 6), (8, 3))


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise ValidationFailed(f"no demo user {email}")
    return user


def _entrants(session: Session, count: int) -> list[tuple[Principal, int]]:
    """The first suppliers' admins, with their organisation."""
    rows = session.execute(
        select(User, Membership.organisation_id)
        .join(Membership, Membership.user_id == User.id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.role == Role.SUPPLIER_ADMIN, Organisation.kind == "supplier")
        .order_by(Organisation.slug)
        .limit(count)
    ).all()
    return [(principal_for(session, user), organisation_id) for user, organisation_id in rows]


def _judges(session: Session) -> list[Principal]:
    users = session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.CHALLENGE_JUDGE)
        .order_by(User.id)
    ).all()
    return [principal_for(session, user) for user in users]


def _form(title: str, statement: str, opens: datetime, closes: datetime) -> Any:
    return parse_challenge_form(
        {
            "title": title,
            "problem_statement": statement,
            "phase": "feasibility",
            "opens_at": opens,
            "closes_at": closes,
            "quality_threshold": 50,
            "assessors_per_entry": 2,
            "rubric": EXAMPLE_RUBRIC,
            "eligibility": EXAMPLE_QUESTIONS,
        }
    )


def _score(rubric: list[dict[str, Any]], marks: tuple[int, int]) -> ScoreForm:
    return parse_form(
        ScoreForm,
        {
            "scores": {
                criterion["key"]: {"score": mark, "comment": f"{criterion['title']}: as marked."}
                for criterion, mark in zip(rubric, marks, strict=True)
            },
            "in_scope": True,
            "fund": marks[0] >= 7,
        },
    )


def _closed_challenge(
    session: Session, manager: Principal, home: int, judge_email: str, now: datetime
) -> dict[str, Any]:
    opens, closes = now - timedelta(days=70), now - timedelta(days=20)
    challenge = manage.create_challenge(
        session,
        manager,
        home,
        _form(
            "Faster digital evidence review",
            "Forces spend weeks reviewing seized media before a charging decision. Find ways to "
            "cut review time without losing the chain of custody.",
            opens,
            closes,
        ),
    )
    manage.publish_challenge(session, manager, challenge.id, now=opens - timedelta(days=5))
    entrants = _entrants(session, len(PROPOSALS))
    entry_ids = []
    for (entrant, organisation_id), proposal in zip(entrants, PROPOSALS, strict=False):
        form = parse_form(
            EntryForm,
            {
                "title": proposal.split(",")[0].split(" that ")[0][:80],
                "proposal": proposal + " We will pilot it with two forces in the phase.",
                "eligibility_answers": {
                    question["key"]: True for question in challenge.eligibility
                },
            },
        )
        entry = entries.save_entry(
            session, entrant, challenge.id, organisation_id, form, now=opens + timedelta(days=10)
        )
        entries.submit_entry(session, entrant, entry.id, now=opens + timedelta(days=12))
        entry_ids.append(entry.id)
    judge = principal_for(session, _user(session, judge_email))
    # The demo judge once advised the third entrant, and says so before judges are allocated.
    conflicted = entrants[2][1] if len(entrants) > 2 else None
    if conflicted is not None:
        declare_conflict(
            session,
            judge,
            challenge.id,
            judge.user_id,
            conflicted,
            "I advised this supplier in 2025",
        )
    allocations = allocate_judges(session, manager, challenge.id, now=closes + timedelta(days=1))
    judges = {p.user_id: p for p in _judges(session)}
    marks = dict(zip(entry_ids, MARKS, strict=False))
    mine = [a for a in allocations if a.judge_user_id == judge.user_id]
    left_for_the_judge = mine[-1].id if mine else None
    for allocation in allocations:
        if allocation.id == left_for_the_judge:
            continue
        judging.submit_score(
            session,
            judges[allocation.judge_user_id],
            allocation.id,
            _score(challenge.rubric, marks[allocation.entry_id]),
            now=closes + timedelta(days=3),
        )
    return {
        "challenge_id": challenge.id,
        "entries": len(entry_ids),
        "allocations": len(allocations),
        "left_for_the_judge": left_for_the_judge,
        "conflict_declared": conflicted is not None,
    }


def seed_challenges(
    session: Session, manager_email: str, judge_email: str, now: datetime | None = None
) -> dict[str, Any]:
    moment = now or utcnow()
    manager = principal_for(session, _user(session, manager_email))
    home = sorted(manager.organisation_ids())[0]
    closed = _closed_challenge(session, manager, home, judge_email, moment)
    opens = moment - timedelta(days=5)
    open_now = manage.create_challenge(
        session,
        manager,
        home,
        _form(
            "Post-quantum readiness for legacy force systems",
            "Many force systems cannot move to post-quantum key exchange without replacement. "
            "Propose ways to protect their traffic until they can.",
            opens,
            moment + timedelta(days=40),
        ),
    )
    manage.publish_challenge(session, manager, open_now.id, now=opens)
    unscored = session.scalars(
        select(JudgeAllocation.id).where(
            JudgeAllocation.challenge_id == closed["challenge_id"],
            JudgeAllocation.submitted_at.is_(None),
        )
    ).all()
    return {"closed": closed, "open_challenge_id": open_now.id, "unscored": len(unscored)}
