"""The assessors' review queue as a paged query: unreviewed answers of submitted assessments,
contradicted claims first.

Order: answers a check contradicts first, then by oldest submission; within a submission by
outcome id. Assessments submitted at the same instant are told apart by id, so one assessment's
answers stay together and every page is the same on every request. The contradicted set is
small and found first (supplier_portal.review_contradictions); the rest is paged in SQL without
it. Paging walks each assessment's count of waiting answers, so a deep page costs what the
first does instead of sorting every waiting answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from frameworks.loader import default_framework
from posture.identity.permissions import Principal, visible_organisations
from posture.storage.models import Answer, Assessment, CheckRun, Organisation, Product
from posture.storage.models.enums import AssessmentStatus
from supplier_portal.review_contradictions import (
    Candidate,
    Contradiction,
    contradictions,
    submission_order,
)

REVIEWABLE = (AssessmentStatus.SUBMITTED, AssessmentStatus.UNDER_REVIEW)
MAX_PAGE_SIZE = 100
DB_ID = Field(default=None, ge=1, le=2_147_483_647)


class QueueQuery(BaseModel):
    """Which page of the queue, and which part of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation_id: int | None = DB_ID
    product_id: int | None = DB_ID
    outcome_id: str | None = Field(
        default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )
    contradicted_first: bool = True
    offset: int = Field(default=0, ge=0, le=1_000_000)
    limit: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE)

    @classmethod
    def page(cls, number: int, size: int, **filters: Any) -> QueueQuery:
        """Page `number` (from 1) of `size` answers."""
        return cls.model_validate({**filters, "offset": (number - 1) * size, "limit": size})


@dataclass(frozen=True)
class QueueItem:
    answer_id: int
    assessment_id: int
    organisation_id: int
    product_id: int | None
    subject: str
    outcome_id: str
    claimed: str
    contradicted: bool
    submitted_at: str


@dataclass(frozen=True)
class ReviewPage:
    items: list[QueueItem]
    total: int
    offset: int
    limit: int
    # Waiting answers a check contradicts; None when not counted (the page lay within the first
    # ones found, or the queue is not ordered by contradiction).
    contradicted: int | None

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def queued_conditions(principal: Principal, query: QueueQuery) -> list[ColumnElement[bool]]:
    """What puts an answer in this reviewer's queue, over Answer joined to its Assessment."""
    scope = visible_organisations(principal, "assessment.review")
    conditions = [Answer.review_status.is_(None), Assessment.status.in_(REVIEWABLE)]
    if scope is not None:
        conditions.append(Assessment.organisation_id.in_(sorted(scope)))
    own = principal.organisation_ids()
    if own:
        # A decision on one's own organisation's answer is refused, so it is not offered.
        conditions.append(Assessment.organisation_id.not_in(sorted(own)))
    if query.organisation_id is not None:
        conditions.append(Assessment.organisation_id == query.organisation_id)
    if query.product_id is not None:
        conditions.append(Assessment.product_id == query.product_id)
    if query.outcome_id is not None:
        conditions.append(Answer.outcome_id == query.outcome_id)
    return conditions


def _run_conditions(query: QueueQuery) -> list[ColumnElement[bool]]:
    """The filters over check runs, so a filtered queue reads only its subjects' runs."""
    found = []
    if query.organisation_id is not None:
        found.append(CheckRun.organisation_id == query.organisation_id)
    if query.product_id is not None:
        found.append(CheckRun.product_id == query.product_id)
    return found


def _sort_key(submitted: datetime | None, assessment_id: int, outcome_id: str) -> tuple[Any, ...]:
    return (submitted is None, submitted or datetime.min, assessment_id, outcome_id)


def _item_rows(conditions: Sequence[ColumnElement[bool]]) -> Any:
    return (
        select(
            Answer.id,
            Answer.assessment_id,
            Assessment.organisation_id,
            Assessment.product_id,
            func.coalesce(Product.name, Organisation.name),
            Answer.outcome_id,
            Assessment.submitted_at,
        )
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .join(Organisation, Organisation.id == Assessment.organisation_id)
        .outerjoin(Product, Product.id == Assessment.product_id)
        .where(*conditions)
    )


def _items(rows: Any, flagged: dict[int, Contradiction]) -> list[QueueItem]:
    items = []
    for answer_id, assessment_id, organisation_id, product_id, label, outcome, at in rows:
        found = flagged.get(answer_id)
        items.append(
            QueueItem(
                answer_id,
                assessment_id,
                organisation_id,
                product_id,
                label,
                outcome,
                found.claimed if found else "",
                found is not None,
                at.isoformat() if at else "",
            )
        )
    return items


def _window(counts: list[tuple[int, int]], offset: int, limit: int) -> tuple[list[int], int]:
    """The assessments (in queue order, with their answer counts) that hold positions
    [offset, offset + limit), and how many of the first one's answers come before `offset`."""
    covered: list[int] = []
    skip, seen = 0, 0
    for assessment_id, count in counts:
        if seen + count > offset and seen < offset + limit and count:
            if not covered:
                skip = offset - seen
            covered.append(assessment_id)
        seen += count
        if seen >= offset + limit:
            break
    return covered, max(skip, 0)


def review_queue(
    session: Session, principal: Principal, today: date, query: QueueQuery | None = None
) -> ReviewPage:
    query = query or QueueQuery()
    queued = queued_conditions(principal, query)
    columns = (
        Assessment.id,
        Assessment.organisation_id,
        Assessment.product_id,
        Assessment.profile_id,
        Assessment.framework_version_id,
        Assessment.submitted_at,
    )
    # Each queued assessment in queue order, with how many of its answers wait.
    rows = session.execute(
        select(*columns, func.count(Answer.id))
        .select_from(Answer)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .where(*queued)
        .group_by(*columns)
        .order_by(*submission_order())
    ).all()
    order = [Candidate(*row[:5]) for row in rows]
    waiting = [(row[0], row[5], row[6]) for row in rows]
    total = sum(count for _, _, count in waiting)
    submitted = {assessment_id: at for assessment_id, at, _ in waiting}
    loaded = default_framework()
    start, stop = query.offset, query.offset + query.limit

    complete = True
    if query.contradicted_first:
        flagged, complete = contradictions(
            session, loaded, today, queued, order, _run_conditions(query), enough=stop
        )
        flagged.sort(
            key=lambda c: _sort_key(submitted[c.assessment_id], c.assessment_id, c.outcome_id)
        )
        head_ids = [c.answer_id for c in flagged[start:stop]]
        by_id = {c.answer_id: c for c in flagged}
        per_assessment: dict[int, int] = {}
        for c in flagged:
            per_assessment[c.assessment_id] = per_assessment.get(c.assessment_id, 0) + 1
        rest = [(a, count - per_assessment.get(a, 0)) for a, _, count in waiting]
        rest_offset = max(0, start - len(flagged))
    else:
        flagged, head_ids, by_id = [], [], {}
        rest = [(a, count) for a, _, count in waiting]
        rest_offset = start

    head = {row[0]: row for row in session.execute(_item_rows([Answer.id.in_(head_ids)]))}
    head_items = _items([head[i] for i in head_ids if i in head], by_id)

    rest_limit = query.limit - len(head_items)
    rest_items: list[QueueItem] = []
    covered, skip = _window(rest, rest_offset, rest_limit) if rest_limit > 0 else ([], 0)
    if covered:
        excluded = [c.answer_id for c in flagged if c.assessment_id in set(covered)]
        conditions = [*queued, Answer.assessment_id.in_(covered)]
        if excluded:
            conditions.append(Answer.id.not_in(excluded))
        rows = session.execute(
            _item_rows(conditions)
            .order_by(*submission_order(), Answer.outcome_id, Answer.id)
            .limit(rest_limit)
            .offset(skip)
        ).all()
        if not query.contradicted_first:
            # Not ordered by contradiction: flag only this page's answers.
            page_only = [*queued, Answer.assessment_id.in_(covered)]
            on_page = [a for a in order if a.assessment_id in set(covered)]
            found, _ = contradictions(session, loaded, today, page_only, on_page)
            by_id = {c.answer_id: c for c in found}
        rest_items = _items(rows, by_id)
    return ReviewPage(
        items=head_items + rest_items,
        total=total,
        offset=query.offset,
        limit=query.limit,
        contradicted=len(flagged) if query.contradicted_first and complete else None,
    )
