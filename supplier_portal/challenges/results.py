"""Moderated standings from stored scores, published results, feedback and CSV export."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.exports import rows_to_csv
from posture.identity.permissions import NotFound, Principal, visible_organisations
from posture.identity.scoped import within_reach
from posture.storage.models import Challenge, ChallengeEntry, JudgeAllocation, Organisation
from supplier_portal.challenges.moderation import (
    EntryModeration,
    JudgeScore,
    ModerationPolicy,
    moderate_entry,
    rank,
)


def moderated_entries(
    session: Session, challenge: Challenge, policy: ModerationPolicy
) -> list[EntryModeration]:
    entries = {
        e.id: e
        for e in session.scalars(
            select(ChallengeEntry).where(
                ChallengeEntry.challenge_id == challenge.id, ChallengeEntry.status == "submitted"
            )
        )
    }
    scores: dict[int, list[JudgeScore]] = {entry_id: [] for entry_id in entries}
    for allocation in session.scalars(
        select(JudgeAllocation).where(
            JudgeAllocation.challenge_id == challenge.id, JudgeAllocation.submitted_at.is_not(None)
        )
    ):
        assert allocation.scores is not None
        scores[allocation.entry_id].append(
            JudgeScore(
                allocation.id,
                allocation.judge_user_id,
                {k: v["score"] for k, v in allocation.scores.items()},
                bool(allocation.in_scope),
                bool(allocation.fund),
                excluded=allocation.excluded_reason is not None,
            )
        )
    moderated = []
    for entry_id, entry in entries.items():
        assert entry.submitted_at is not None
        moderated.append(
            moderate_entry(
                entry_id,
                entry.submitted_at,
                challenge.rubric,
                scores[entry_id],
                challenge.quality_threshold,
                policy,
            )
        )
    return rank(moderated, policy)


def moderation_view(
    session: Session, principal: Principal, challenge_id: int, policy: ModerationPolicy
) -> list[EntryModeration]:
    visible_organisations(principal, "challenge.manage")
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("challenge not found")
    return moderated_entries(session, challenge, policy)


def _published(session: Session, principal: Principal, challenge_id: int) -> Challenge:
    visible_organisations(principal, "challenge.view")
    challenge = session.get(Challenge, challenge_id)
    if challenge is None or challenge.status != "results_published" or not challenge.results:
        raise NotFound("no published results for that challenge")
    return challenge


def published_ranking(
    session: Session, principal: Principal, challenge_id: int
) -> list[dict[str, Any]]:
    challenge = _published(session, principal, challenge_id)
    names = dict(
        session.execute(
            select(ChallengeEntry.id, Organisation.name)
            .join(Organisation, Organisation.id == ChallengeEntry.organisation_id)
            .where(ChallengeEntry.challenge_id == challenge_id)
        ).all()
    )
    titles = dict(
        session.execute(
            select(ChallengeEntry.id, ChallengeEntry.title).where(
                ChallengeEntry.challenge_id == challenge_id
            )
        ).all()
    )
    return [
        {**row, "supplier": names[row["entry_id"]], "title": titles[row["entry_id"]]}
        for row in challenge.results["ranking"]
        if row["rank"] is not None
    ]


def my_published_entries(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """(id, title) of the caller's organisations' entries to challenges whose results are out."""
    query = (
        select(ChallengeEntry.id, ChallengeEntry.title)
        .join(Challenge, Challenge.id == ChallengeEntry.challenge_id)
        .where(Challenge.status == "results_published")
    )
    query = within_reach(query, ChallengeEntry.organisation_id, principal, "challenge.enter")
    return [(entry_id, title) for entry_id, title in session.execute(query)]


def feedback_for_entry(session: Session, principal: Principal, entry_id: int) -> dict[str, Any]:
    """Comments per criterion, without judge identities, for the entrant only."""
    visible_organisations(principal, "challenge.enter")
    entry = session.get(ChallengeEntry, entry_id)
    if entry is None or entry.organisation_id not in principal.organisation_ids():
        raise NotFound("entry not found")
    challenge = _published(session, principal, entry.challenge_id)
    row = next(r for r in challenge.results["ranking"] if r["entry_id"] == entry_id)
    comments: dict[str, list[str]] = {c["key"]: [] for c in challenge.rubric}
    for allocation in session.scalars(
        select(JudgeAllocation)
        .where(JudgeAllocation.entry_id == entry_id, JudgeAllocation.excluded_reason.is_(None))
        .order_by(JudgeAllocation.id)
    ):
        for key, value in (allocation.scores or {}).items():
            comments[key].append(value["comment"])
    return {
        "entry_id": entry_id,
        "rank": row["rank"],
        "mean": row["mean"],
        "meets_quality": row["meets_quality"],
        "comments": comments,
        "criteria": {c["key"]: c["title"] for c in challenge.rubric},  # key -> title, in order
    }


def results_csv(session: Session, principal: Principal, challenge_id: int) -> str:
    ranking = published_ranking(session, principal, challenge_id)
    if not ranking:
        raise ValidationFailed("no entry met the quality threshold")
    return rows_to_csv(ranking, ["rank", "supplier", "title", "mean", "median", "spread", "fund"])
