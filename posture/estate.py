"""Read-only figures about the estate for the landing page and exports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posture.storage.models import Assessment, Organisation, Product
from posture.storage.models.enums import AssessmentStatus


@dataclass(frozen=True)
class EstateOverview:
    organisations_by_kind: dict[str, int]
    products_by_category: dict[str, int]
    assessments_by_status: dict[str, int]

    @property
    def is_empty(self) -> bool:
        """No forces and no suppliers yet: a platform organisation alone is not an estate."""
        return not any(self.organisations_by_kind.get(kind) for kind in ("force", "supplier"))


def estate_overview(session: Session) -> EstateOverview:
    """Aggregate counts only: nothing here identifies a tenant's records."""
    by_kind = session.execute(
        select(Organisation.kind, func.count()).group_by(Organisation.kind)
    ).all()
    by_category = session.execute(
        select(Product.category, func.count())
        .where(Product.deleted_at.is_(None))
        .group_by(Product.category)
    ).all()
    by_status = session.execute(
        select(Assessment.status, func.count()).group_by(Assessment.status)
    ).all()
    return EstateOverview(
        organisations_by_kind={str(kind): count for kind, count in by_kind},
        products_by_category={category: count for category, count in sorted(by_category)},
        assessments_by_status={
            str(status): count
            for status, count in by_status
            if status != AssessmentStatus.SUPERSEDED
        },
    )
