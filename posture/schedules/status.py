"""Each schedule as operators see it: when it is due, its last run and outcome, its next run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posture.schedules.book import ScheduleBook
from posture.storage.models import ScheduleRun
from posture.storage.models.enums import ScheduleRunStatus


class LastRun(BaseModel):
    model_config = ConfigDict(frozen=True)
    period: str
    status: ScheduleRunStatus
    trigger: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any]
    error: str | None


class ScheduleStatus(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    action: str
    description: str
    cron: str
    period: str
    last: LastRun | None
    next_run: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def latest_runs(session: Session, names: list[str]) -> dict[str, ScheduleRun]:
    ranked = (
        select(
            ScheduleRun.id,
            func.row_number()
            .over(
                partition_by=ScheduleRun.name,
                order_by=(ScheduleRun.started_at.desc(), ScheduleRun.id.desc()),
            )
            .label("rank"),
        )
        .where(ScheduleRun.name.in_(names))
        .subquery()
    )
    newest = select(ranked.c.id).where(ranked.c.rank == 1)
    rows = session.scalars(select(ScheduleRun).where(ScheduleRun.id.in_(newest)))
    return {row.name: row for row in rows}


def schedule_overview(session: Session, book: ScheduleBook, now: datetime) -> list[ScheduleStatus]:
    latest = latest_runs(session, [d.name for d in book.definitions])
    overview = []
    for definition in book.definitions:
        run = latest.get(definition.name)
        overview.append(
            ScheduleStatus(
                name=definition.name,
                action=definition.action,
                description=definition.description,
                cron=definition.cron.text(),
                period=definition.period.value,
                last=None
                if run is None
                else LastRun(
                    period=run.period_key,
                    status=run.status,
                    trigger=run.trigger,
                    attempts=run.attempts,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    summary=run.summary or {},
                    error=run.error,
                ),
                next_run=definition.next_run(now),
            )
        )
    return overview
