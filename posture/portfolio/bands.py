"""Each deployed product's band as the portfolio views read it: its newest snapshot under one
framework version by a day. Per product, so a snapshot run that scored a few products (one
entity's `--snapshot`) does not leave the rest unscored, and per framework version, so a CAF
run's bands are never read as PTSbD's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from posture.storage.models import FrameworkVersion, PostureSnapshot
from posture.storage.models.enums import SubjectKind


def framework_version_id(session: Session, loaded: LoadedFramework) -> int | None:
    """The stored version of `loaded`, if it was ever registered (a snapshot needs it)."""
    return session.scalar(
        select(FrameworkVersion.id).where(
            FrameworkVersion.framework_id == loaded.framework.framework_id,
            FrameworkVersion.version == loaded.framework.version,
        )
    )


def product_bands(
    session: Session, version_id: int | None, product_ids: Any, end: datetime | None = None
) -> tuple[datetime | None, dict[int, str]]:
    """The newest snapshot time among them, and each product's band in its newest snapshot
    under `version_id` by `end` (all time when None). `product_ids` is a list or a select."""
    if version_id is None:
        return None, {}
    conditions = [
        PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
        PostureSnapshot.framework_version_id == version_id,
        PostureSnapshot.product_id.in_(product_ids),
    ]
    if end is not None:
        conditions.append(PostureSnapshot.taken_at <= end)
    ranked = (
        select(
            PostureSnapshot.product_id,
            PostureSnapshot.band,
            PostureSnapshot.taken_at,
            func.row_number()
            .over(
                partition_by=PostureSnapshot.product_id,
                order_by=(PostureSnapshot.taken_at.desc(), PostureSnapshot.id.desc()),
            )
            .label("rank"),
        )
        .where(*conditions)
        .subquery()
    )
    newest: datetime | None = None
    bands: dict[int, str] = {}
    for product_id, band, taken_at in session.execute(
        select(ranked.c.product_id, ranked.c.band, ranked.c.taken_at).where(ranked.c.rank == 1)
    ):
        bands[product_id] = band
        newest = taken_at if newest is None or taken_at > newest else newest
    return newest, bands
