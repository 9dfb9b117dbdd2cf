"""Which subjects a scoring read covers, and each one's current assessment on a date.

A subject is a force or supplier (its own assessment, no product) or a product. The filter goes
inside the ranking query, so scoring one subject reads that subject's rows, never the estate's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, false, func, or_, select

from posture.storage.models import Assessment, Organisation, Product
from posture.storage.models.enums import AssessmentStatus

MAX_SUBJECTS = 10_000


def cutoff(as_of: date) -> datetime:
    return datetime.combine(as_of, time.max, tzinfo=UTC)


@dataclass(frozen=True)
class SubjectFilter:
    """Products by id and organisations' own assessments by organisation id."""

    products: frozenset[int] = frozenset()
    organisations: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        # Each id is a bound parameter; PostgreSQL takes at most 65,535 in one statement.
        if len(self.products) + len(self.organisations) > MAX_SUBJECTS:
            raise ValueError(f"a subject filter names at most {MAX_SUBJECTS} subjects")

    @classmethod
    def product(cls, product_id: int) -> SubjectFilter:
        return cls(products=frozenset({product_id}))

    @classmethod
    def organisation(cls, organisation_id: int) -> SubjectFilter:
        return cls(organisations=frozenset({organisation_id}))

    @classmethod
    def of(cls, subjects: Iterable[tuple[int, int | None]]) -> SubjectFilter:
        """From (organisation id, product id or None) pairs."""
        pairs = list(subjects)
        return cls(
            products=frozenset(p for _, p in pairs if p is not None),
            organisations=frozenset(o for o, p in pairs if p is None),
        )

    def matches(self, organisation_id: Any, product_id: Any) -> ColumnElement[bool]:
        """The predicate over any table's (organisation_id, product_id) columns."""
        terms: list[ColumnElement[bool]] = []
        if self.products:
            terms.append(product_id.in_(sorted(self.products)))
        if self.organisations:
            terms.append(
                and_(product_id.is_(None), organisation_id.in_(sorted(self.organisations)))
            )
        return or_(*terms) if terms else false()


def current_assessment_ids(
    framework_version_id: int, as_of: date, subjects: SubjectFilter | None
) -> Subquery:
    """The id of each subject's newest non-draft assessment created by `as_of`."""
    conditions = [
        Assessment.framework_version_id == framework_version_id,
        Assessment.status != AssessmentStatus.DRAFT,
        Assessment.created_at <= cutoff(as_of),
    ]
    if subjects is not None:
        conditions.append(subjects.matches(Assessment.organisation_id, Assessment.product_id))
    ranked = (
        select(
            Assessment.id,
            func.row_number()
            .over(
                partition_by=(Assessment.organisation_id, Assessment.product_id),
                order_by=(Assessment.version.desc(), Assessment.id.desc()),
            )
            .label("rank"),
        )
        .where(*conditions)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1).subquery()


def current_assessments(
    framework_version_id: int, as_of: date, subjects: SubjectFilter | None
) -> Select[Any]:
    """Each subject's current assessment: id, organisation, product, profile and label, in
    subject order."""
    current = current_assessment_ids(framework_version_id, as_of, subjects)
    return (
        select(
            Assessment.id,
            Assessment.organisation_id,
            Assessment.product_id,
            Assessment.profile_id,
            func.coalesce(Product.name, Organisation.name),
        )
        .join(current, current.c.id == Assessment.id)
        .join(Organisation, Organisation.id == Assessment.organisation_id)
        .outerjoin(Product, Product.id == Assessment.product_id)
        # Organisations' own assessments before their products on every backend (NULL sorts
        # first on SQLite and last on PostgreSQL).
        .order_by(
            Assessment.organisation_id, Assessment.product_id.is_not(None), Assessment.product_id
        )
    )
