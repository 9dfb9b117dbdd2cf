"""When a worker's periodic task is due, read off the schedule huey keeps, minute by minute."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from huey import Huey

from kernel.settings import Settings
from posture.jobs.queue import build_queue
from supplier_portal.automation import schedule_book

DAY = datetime(2026, 5, 1)


def due_on_a_day(huey: Any, name: str) -> list[datetime]:
    """Every minute of one day at which the task named `name` is due."""
    minutes = (DAY + timedelta(minutes=m) for m in range(24 * 60))
    return [when for when in minutes if name in {t.name for t in huey.read_periodic(when)}]


def task_at(huey: Any, name: str, when: datetime) -> Any:
    (task,) = [t for t in huey.read_periodic(when) if t.name == name]
    return task


def worker_huey(settings: Settings) -> Huey:
    """A worker's queue with the shipped schedule book, running tasks in the calling process."""
    immediate = settings.model_copy(update={"queue_immediate": True})
    return build_queue(immediate, schedules=schedule_book(settings)).huey
