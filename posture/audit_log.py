"""Reading the audit trail: for those whose role allows it. Searching it (by action, actor,
subject and dates, a page at a time) and verifying its hash chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.audit import ChainReport, verify_chain
from posture.audit_personal import PERSON_LABEL
from posture.identity.permissions import PermissionDenied, Principal, visible_organisations
from posture.storage.models import AuditEvent, Organisation, User

AUDIT_READ = "audit.read"
# Days are the UK's: an administrator asking for "7 December" means the day they lived.
UK = ZoneInfo("Europe/London")


def recent_events(session: Session, principal: Principal, limit: int = 200) -> list[AuditEvent]:
    scope = visible_organisations(principal, AUDIT_READ)
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 5000)))
    if scope is not None:
        query = query.where(AuditEvent.organisation_id.in_(scope))
    return list(session.scalars(query))


class EventSearch(BaseModel):
    """What to look for; every part optional. `actor` matches part of a person's address or
    name, or a system's label (cli, worker...); dates are UK days, both included."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    action: str = Field(default="", max_length=64)
    actor: str = Field(default="", max_length=254)
    object_type: str = Field(default="", max_length=64)
    object_id: str = Field(default="", max_length=64)
    since: date | None = None
    until: date | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _dates_in_order(self) -> EventSearch:
        if self.since and self.until and self.since > self.until:
            raise ValueError("the first day is after the last")
        return self


def event_search(**fields: object) -> EventSearch:
    try:
        return EventSearch.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f"{first['loc'][0]}: " if first["loc"] else ""
        raise ValidationFailed(where + first["msg"].removeprefix("Value error, ")) from exc


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    total: int
    organisation_names: dict[int, str]  # of the events on this page


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UK).astimezone(UTC)


def search_events(session: Session, principal: Principal, search: EventSearch) -> EventPage:
    """The matching events, newest first, one page of them, and how many match in all."""
    scope = visible_organisations(principal, AUDIT_READ)
    conditions = []
    if scope is not None:
        conditions.append(AuditEvent.organisation_id.in_(scope))
    if search.action:
        conditions.append(AuditEvent.action == search.action)
    if search.object_type:
        conditions.append(AuditEvent.object_type == search.object_type)
    if search.object_id:
        conditions.append(AuditEvent.object_id == search.object_id)
    if search.actor:
        term = search.actor.lower()
        people = select(User.id).where(
            or_(
                func.lower(User.email).contains(term, autoescape=True),
                func.lower(User.display_name).contains(term, autoescape=True),
            )
        )
        # A person's name is not in the event's label (it is a personal item, see
        # audit_personal): people are found through their account.
        conditions.append(
            or_(
                AuditEvent.actor_user_id.in_(people),
                and_(
                    AuditEvent.actor_label != PERSON_LABEL,
                    func.lower(AuditEvent.actor_label).contains(term, autoescape=True),
                ),
            )
        )
    if search.since:
        conditions.append(AuditEvent.occurred_at >= _day_start(search.since))
    if search.until:
        conditions.append(AuditEvent.occurred_at < _day_start(search.until + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.id.desc())
            .limit(search.limit)
            .offset(search.offset)
        )
    )
    ids = {event.organisation_id for event in events if event.organisation_id is not None}
    names = {
        org_id: name
        for org_id, name in session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
        )
    }
    return EventPage(events, total, names)


@dataclass(frozen=True)
class Vocabulary:
    """The actions and kinds of subject the trail holds, for choosing among them."""

    actions: list[str]
    object_types: list[str]


def trail_vocabulary(session: Session, principal: Principal) -> Vocabulary:
    scope = visible_organisations(principal, AUDIT_READ)

    def distinct(column):  # type: ignore[no-untyped-def]
        query = select(column).distinct().order_by(column)
        if scope is not None:
            query = query.where(AuditEvent.organisation_id.in_(scope))
        return list(session.scalars(query))

    return Vocabulary(distinct(AuditEvent.action), distinct(AuditEvent.object_type))


def verify_trail(session: Session, principal: Principal) -> ChainReport:
    """Walk the whole hash chain (posture.audit.verify_chain): only for those who may read
    every organisation's events, as the chain runs through them all."""
    if visible_organisations(principal, AUDIT_READ) is not None:
        raise PermissionDenied("verifying the chain needs the whole trail")
    return verify_chain(session)


def chain_in_words(report: ChainReport) -> str:
    if report.first_break is None:
        return (
            f"The chain holds: all {report.events_checked} events verified, none changed, "
            "removed or reordered since it was written."
        )
    return (
        f"The chain is broken at event {report.first_break.event_id} "
        f"({report.events_checked} events checked): {report.first_break.reason}."
    )
