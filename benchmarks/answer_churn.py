"""A working day's changes to the estate's answers, for benchmarks that score again after them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from posture.storage.models import Answer


def change_answers(session: Session, share: float, offset: int, when: datetime) -> int:
    """One answer of each of a share of the assessments changed, as a supplier editing or an
    assessor deciding changes it: a new comment and answered time. Returns how many assessments
    changed; `offset` picks a different set each round."""
    ids = sorted(set(session.scalars(select(Answer.assessment_id))))
    chosen = ids[offset :: max(1, round(1 / share))]
    first = (
        select(func.min(Answer.id))
        .where(Answer.assessment_id.in_(chosen))
        .group_by(Answer.assessment_id)
    )
    session.execute(
        update(Answer)
        .where(Answer.id.in_(first))
        .values(comment=f"changed in round {offset}", answered_at=when)
    )
    return len(chosen)
