"""The platform's schedule book: posture's actions and the portal's own (the procurement listing
re-check), bound to the schedules file. Built here, above both, so posture never reaches up
into the portal; workers, `assure schedule` and the app all take the book from here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal, visible_organisations
from posture.jobs.queue import JobQueue
from posture.schedules.actions import SCHEDULE_ACTOR, posture_actions
from posture.schedules.book import Action, ScheduleBook, load_schedules
from posture.schedules.runner import ScheduleContext
from posture.schedules.status import ScheduleStatus, schedule_overview
from posture.storage.engine import transaction


def recheck_listings(context: ScheduleContext) -> dict[str, Any]:
    from supplier_portal.procurement.lots import recheck_listings as recheck

    with transaction(context.sessions) as session:
        flagged = recheck(session, SCHEDULE_ACTOR, context.now.date())
        return {"newly_flagged": len(flagged), "applications": [a.id for a in flagged][:100]}


def schedule_actions() -> Mapping[str, Action]:
    return {**posture_actions(), "procurement.recheck_listings": recheck_listings}


def schedule_book(settings: Settings) -> ScheduleBook:
    """The schedules in force: the file ASSURE_SCHEDULES_FILE names, else the shipped one."""
    return load_schedules(settings.schedules_file, schedule_actions())


def schedules_seen_by(
    session: Session, principal: Principal, book: ScheduleBook, now: datetime
) -> list[ScheduleStatus]:
    """The schedules, their last and next runs, for those who run the platform."""
    visible_organisations(principal, "schedule.read")
    return schedule_overview(session, book, now)


def run_on_worker(queue: JobQueue, principal: Principal, book: ScheduleBook, name: str) -> None:
    """Queue schedule `name` for a worker, as `principal` (audited as theirs when it runs). It
    runs only if its current period's run has not succeeded and is not running."""
    visible_organisations(principal, "schedule.run")
    book.named(name)
    queue.run_schedule_now(name, "app", actor_of(principal))


# The sweeps a demo estate runs once at seeding, as a worker would that night.
DEMO_SCHEDULES = ("expiry.reminders", "findings.sla_breaches")


def run_demo_schedules(
    settings: Settings, sessions: sessionmaker[Session]
) -> dict[str, dict[str, Any]]:
    from kernel.clock import utcnow
    from posture.audit import Actor
    from posture.schedules.runner import run_schedule

    book = schedule_book(settings)
    context = ScheduleContext(settings, sessions, utcnow())
    # An operator's book may not hold them; the demo then leaves them to it.
    named = {definition.name for definition in book.definitions}
    return {
        name: run_schedule(book, name, context, trigger="cli", actor=Actor("cli")).as_dict()
        for name in DEMO_SCHEDULES
        if name in named
    }
