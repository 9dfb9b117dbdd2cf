"""Searching the audit trail (by action, actor, subject and UK days, a page at a time) and
verifying its chain, for those who may read the whole trail."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.audit_log import (
    chain_in_words,
    event_search,
    search_events,
    trail_vocabulary,
    verify_trail,
)
from posture.identity.permissions import PermissionDenied
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, User
from posture.storage.models.enums import Role

# 23:30 UTC on 30 June is 00:30 on 1 July in the UK (BST).
WHEN = (
    datetime(2026, 6, 30, 23, 30, tzinfo=UTC),
    datetime(2026, 7, 1, 12, tzinfo=UTC),
    datetime(2026, 7, 2, 9, tzinfo=UTC),
)


@pytest.fixture
def trail(world_db):  # type: ignore[no-untyped-def]
    """Three events about Rhiannon on known days (rewritten after the fact, which the chain
    would show; verifying is tested on an untouched trail below)."""
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        rhi = User(email="rhiannon.price@force.example", display_name="Rhiannon Price")
        session.add(rhi)
        session.flush()
        person = Actor(rhi.email, rhi.id)
        written = [
            record(session, actor, action, "user", rhi.id).id
            for actor, action in [
                (person, "user.disabled"),
                (Actor("cli"), "role.granted"),
                (person, "role.granted"),
            ]
        ]
        rhi_id = rhi.id
    with transaction(sessions) as session:
        for event_id, when in zip(written, WHEN, strict=True):
            session.execute(
                update(AuditEvent).where(AuditEvent.id == event_id).values(occurred_at=when)
            )
    return world, sessions, rhi_id


def _find(sessions, who, **fields) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        page = search_events(session, who, event_search(**fields))
        return [e.action for e in page.events], page.total


def test_search_by_action_actor_subject_and_uk_days(trail) -> None:  # type: ignore[no-untyped-def]
    world, sessions, rhi = trail
    admin = world.principal(Role.PLATFORM_ADMIN)
    assert _find(
        sessions, admin, action="role.granted", object_type="user", object_id=str(rhi)
    ) == (["role.granted", "role.granted"], 2)
    assert _find(sessions, admin, actor="RHIANNON") == (["role.granted", "user.disabled"], 2)
    assert _find(sessions, admin, actor="price@force")[1] == 2
    assert _find(sessions, admin, actor="cli", object_id=str(rhi)) == (["role.granted"], 1)
    assert _find(sessions, admin, actor="user")[1] == 0  # a person's label is not searchable
    assert _find(sessions, admin, since=date(2026, 7, 1), until=date(2026, 7, 1)) == (
        ["role.granted", "user.disabled"],
        2,
    )
    assert _find(sessions, admin, since=date(2026, 7, 2), until=date(2026, 7, 2))[1] == 1
    everything = _find(sessions, admin)[1]
    newest, total = _find(sessions, admin, limit=2)
    second_page, _ = _find(sessions, admin, limit=2, offset=2)
    assert (len(newest), total, len(second_page)) == (2, everything, 2)
    assert newest[0] == "role.granted"
    with sessions() as session:
        vocabulary = trail_vocabulary(session, admin)
    assert {"role.granted", "user.disabled", "world.created"} <= set(vocabulary.actions)
    assert "user" in vocabulary.object_types


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"since": date(2026, 7, 2), "until": date(2026, 7, 1)}, "first day is after the last"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"action": "x" * 65}, "action"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_search_is_refused_with_the_reason(fields, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed, match=message):
        event_search(**fields)


@pytest.mark.parametrize("role", [r for r in Role if r != Role.PLATFORM_ADMIN])
def test_only_those_who_read_the_whole_trail_search_or_verify_it(world_db, role: Role) -> None:  # type: ignore[no-untyped-def]
    world, sessions, _ = world_db
    with sessions() as session:
        for call in (
            lambda: search_events(session, world.principal(role), event_search()),
            lambda: verify_trail(session, world.principal(role)),
            lambda: trail_vocabulary(session, world.principal(role)),
        ):
            with pytest.raises(PermissionDenied):
                call()


def test_verify_reports_an_intact_chain_and_then_the_event_that_was_changed(world_db) -> None:  # type: ignore[no-untyped-def]
    world, sessions, _ = world_db
    admin = world.principal(Role.PLATFORM_ADMIN)
    with sessions() as session:
        report = verify_trail(session, admin)
    assert report.intact
    assert chain_in_words(report) == (
        f"The chain holds: all {report.events_checked} events verified, none changed, removed "
        "or reordered since it was written."
    )
    with transaction(sessions) as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == 2).values(action="tampered"))
    with sessions() as session:
        broken = verify_trail(session, admin)
    assert chain_in_words(broken).startswith(
        "The chain is broken at event 2 (2 events checked): content was changed after writing"
    )
