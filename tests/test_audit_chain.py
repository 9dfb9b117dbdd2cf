"""Every state change appends a hash-chained event; tampering shows at the first broken link."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from posture.audit import Actor, record, verify_chain
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent

ALICE = Actor(label="alice@force.example")


def _append(sessions: sessionmaker[Session], count: int, actor: Actor = ALICE) -> list[int]:
    ids = []
    with transaction(sessions) as session:
        for index in range(count):
            event = record(session, actor, "answer.saved", "answer", index, {"level": index})
            ids.append(event.id)
    return ids


def _verify(sessions: sessionmaker[Session]):
    with sessions() as session:
        return verify_chain(session)


def test_an_untouched_chain_verifies(sessions: sessionmaker[Session]) -> None:
    _append(sessions, 5)
    report = _verify(sessions)
    assert report.intact
    assert report.events_checked == 5


def test_an_edited_event_is_found(sessions: sessionmaker[Session]) -> None:
    ids = _append(sessions, 5)
    with transaction(sessions) as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.id == ids[2]).values(data={"level": 99})
        )
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[2]
    assert "changed" in report.first_break.reason


def test_a_deleted_event_is_found_at_its_successor(sessions: sessionmaker[Session]) -> None:
    ids = _append(sessions, 5)
    with transaction(sessions) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[2]


def test_reordered_events_are_found(sessions: sessionmaker[Session]) -> None:
    # A system's events: no personal part whose foreign key would stop the swap.
    ids = _append(sessions, 4, Actor(label="worker"))
    with transaction(sessions) as session:
        # Swap the ids of two events: same rows, different order.
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(id=-1))
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(id=ids[1]))
        session.execute(update(AuditEvent).where(AuditEvent.id == -1).values(id=ids[2]))
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[1]


def test_two_events_cannot_claim_the_same_predecessor(sessions: sessionmaker[Session]) -> None:
    ids = _append(sessions, 2)
    with sessions() as session:
        first = session.get(AuditEvent, ids[0])
        assert first is not None
        fork = AuditEvent(
            occurred_at=first.occurred_at,
            actor_label="mallory",
            action="answer.saved",
            object_type="answer",
            object_id="x",
            data={},
            prev_hash=first.prev_hash,
            hash="f" * 64,
        )
        session.add(fork)
        with pytest.raises(IntegrityError):
            session.commit()


def test_concurrent_writers_keep_one_intact_chain(sessions: sessionmaker[Session]) -> None:
    """Eight threads appending at once (the API's writers) all succeed and stay in one chain."""
    from concurrent.futures import ThreadPoolExecutor

    def writer(thread: int) -> int:
        for batch in range(5):
            with transaction(sessions) as session:
                record(session, ALICE, "product.created", "product", f"{thread}-{batch}")
        return thread

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(writer, range(8))) == list(range(8))
    report = _verify(sessions)
    assert report.intact, report.first_break
    assert report.events_checked == 40
