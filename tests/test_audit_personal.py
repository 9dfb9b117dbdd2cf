"""Personal data stays out of the audit trail's hashed fields, and can be neither changed nor
removed behind the chain's back: only an audited erasure may take it away, item by item."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from posture.audit import PERSON_ERASED, Actor, record, verify_chain
from posture.audit_encoding import canonical_bytes, event_hash, hashed_fields
from posture.audit_personal import (
    ERASED,
    erased_digest,
    erased_form,
    item_key,
    split,
)
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, AuditPersonal, User

ALICE = "alice.jones@force.example"
ADMIN = "admin@platform.example"


def _user(sessions: sessionmaker[Session], email: str, name: str) -> int:
    with transaction(sessions) as session:
        user = User(email=email, display_name=name, password_hash=None)
        session.add(user)
        session.flush()
        return user.id


def _write(sessions: sessionmaker[Session]) -> tuple[int, list[int]]:
    """An admin creates Alice's account; Alice reviews an answer naming herself; a worker
    finishes a job; Alice edits a product and a buyer's questions are recorded."""
    alice_id = _user(sessions, ALICE, "Alice Jones")
    admin_id = _user(sessions, ADMIN, "Platform Admin")
    alice = Actor(label=ALICE, user_id=alice_id)
    with transaction(sessions) as session:
        ids = [
            record(
                session,
                Actor(ADMIN, admin_id),
                "user.created",
                "user",
                alice_id,
                {
                    "email": ALICE,
                    "role": "supplier_admin",
                },
            ).id,
            record(
                session,
                alice,
                "answer.reviewed",
                "answer",
                7,
                {
                    "outcome_id": "A1.a",
                    "message": "Checked by Alice Jones",
                },
            ).id,
            record(session, Actor("worker"), "job.finished", "job", 3, {"status": "ok"}).id,
            record(
                session,
                alice,
                "product.updated",
                "product",
                9,
                {
                    "changed": {
                        "description": {"before": "", "after": "Ask Alice Jones"},
                        "category": {"before": "a", "after": "b"},
                    },
                    "criteria": [{"key": "price", "question": "Does Alice Jones sign off?"}],
                },
            ).id,
        ]
    return alice_id, ids


def _verify(sessions: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    with sessions() as session:
        return verify_chain(session)


def _items(sessions: sessionmaker[Session], event_id: int) -> list[dict]:
    with sessions() as session:
        row = session.get(AuditPersonal, event_id)
        assert row is not None
        return list(row.payload["items"])


def _store(sessions: sessionmaker[Session], event_id: int, items: list[dict]) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(AuditPersonal)
            .where(AuditPersonal.event_id == event_id)
            .values(payload={"items": items})
        )


def test_no_personal_value_is_in_any_hashed_field(sessions: sessionmaker[Session]) -> None:
    _write(sessions)
    with sessions() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        hashed = b" ".join(canonical_bytes(hashed_fields(e)) for e in events).lower()
        assert b"alice" not in hashed
        assert b"admin@" not in hashed
        created, reviewed, finished, updated = events
        assert created.data == {"role": "supplier_admin"}
        assert reviewed.actor_label == "user"
        assert reviewed.data == {"outcome_id": "A1.a"}
        assert updated.data == {"changed": {"category": {"before": "a", "after": "b"}}}
        # What people read is whole again while the people's data is held.
        assert reviewed.shown_actor == ALICE
        assert reviewed.shown_data["message"] == "Checked by Alice Jones"
        assert updated.shown_data["changed"]["description"]["after"] == "Ask Alice Jones"
        assert updated.shown_data["criteria"][0]["question"] == "Does Alice Jones sign off?"
        assert created.shown_data == {"email": ALICE, "role": "supplier_admin"}
        assert finished.personal is None
        assert finished.personal_digest is None
        assert finished.shown_actor == "worker"
    assert _verify(sessions).intact


def test_each_item_has_its_own_salt(sessions: sessionmaker[Session]) -> None:
    _, ids = _write(sessions)
    items = _items(sessions, ids[0])
    assert [i["path"] for i in items] == [["actor"], ["data", "email"]]
    assert len({i["salt"] for i in items}) == 2


def test_changed_personal_data_breaks_the_chain(sessions: sessionmaker[Session]) -> None:
    _, ids = _write(sessions)
    items = _items(sessions, ids[1])
    items[1]["value"] = "All fine, signed Mallory"
    _store(sessions, ids[1], items)
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[1]
    assert "changed" in report.first_break.reason


def test_deleted_personal_data_breaks_the_chain(sessions: sessionmaker[Session]) -> None:
    _, ids = _write(sessions)
    with transaction(sessions) as session:
        session.execute(delete(AuditPersonal).where(AuditPersonal.event_id == ids[0]))
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[0]
    assert "deleted, not erased" in report.first_break.reason


@pytest.mark.parametrize(
    "damage",
    [
        lambda item: {"path": item["path"], "value": item["value"], "salt": "zz" * 32},
        lambda item: {"path": item["path"], "value": item["value"]},
        lambda item: {"path": item["path"], "salt": item["salt"]},
        lambda item: {**item, "extra": 1},
        lambda item: "not an item",
    ],
    ids=["salt-not-hex", "no-salt", "no-value", "extra-key", "not-a-dict"],
)
def test_malformed_personal_data_is_a_break_not_a_crash(
    sessions: sessionmaker[Session], damage
) -> None:
    _, ids = _write(sessions)
    items = _items(sessions, ids[1])
    items[0] = damage(items[0])
    _store(sessions, ids[1], items)
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[1]


def test_an_erasure_claimed_by_an_ordinary_event_breaks_the_chain(
    sessions: sessionmaker[Session],
) -> None:
    _, ids = _write(sessions)
    items = _items(sessions, ids[1])
    items[0] = erased_form(items[0], ids[2])
    _store(sessions, ids[1], items)
    report = _verify(sessions)
    assert report.first_break is not None
    assert "not one" in report.first_break.reason


def _erase(sessions: sessionmaker[Session], targets: dict[int, list[int]], signs: dict) -> int:
    """An erasure as the service makes it, its digest naming `signs` (event -> positions)."""
    keys = [
        item_key(event_id, _items(sessions, event_id)[i]["path"])
        for event_id, positions in signs.items()
        for i in positions
    ]
    with transaction(sessions) as session:
        erasure = record(
            session,
            Actor("cli"),
            PERSON_ERASED,
            "person",
            "x",
            {
                "erased_digest": erased_digest(keys),
            },
        ).id
    for event_id, positions in targets.items():
        items = _items(sessions, event_id)
        for i in positions:
            items[i] = erased_form(items[i], erasure)
        _store(sessions, event_id, items)
    return erasure


def test_an_erasure_stretched_to_more_items_than_it_signed_breaks_the_chain(
    sessions: sessionmaker[Session],
) -> None:
    _, ids = _write(sessions)
    erasure = _erase(sessions, {ids[0]: [1], ids[1]: [0, 1]}, signs={ids[0]: [1]})
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == erasure


def test_an_erasure_of_one_persons_items_leaves_the_others(
    sessions: sessionmaker[Session],
) -> None:
    _, ids = _write(sessions)
    # The admin created Alice's account: Alice's address goes, the admin stays the actor.
    _erase(sessions, {ids[0]: [1], ids[1]: [0, 1]}, signs={ids[0]: [1], ids[1]: [0, 1]})
    assert _verify(sessions).intact
    with sessions() as session:
        created = session.get(AuditEvent, ids[0])
        reviewed = session.get(AuditEvent, ids[1])
        assert created is not None
        assert reviewed is not None
        assert created.shown_actor == ADMIN
        assert created.shown_data == {"email": ERASED, "role": "supplier_admin"}
        assert reviewed.shown_actor == ERASED
        assert reviewed.shown_data == {"outcome_id": "A1.a", "message": ERASED}


def test_an_erased_item_cannot_be_refilled(sessions: sessionmaker[Session]) -> None:
    _, ids = _write(sessions)
    _erase(sessions, {ids[1]: [0, 1]}, signs={ids[1]: [0, 1]})
    items = _items(sessions, ids[1])
    items[0] = {**items[0], "value": "carol@force.example"}
    _store(sessions, ids[1], items)
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[1]


def test_personal_data_planted_on_an_event_that_committed_to_none_breaks_the_chain(
    sessions: sessionmaker[Session],
) -> None:
    _, ids = _write(sessions)
    with transaction(sessions) as session:
        planted = {"path": ["actor"], "value": "x", "salt": "00" * 32}
        session.add(AuditPersonal(event_id=ids[2], payload={"items": [planted]}))
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == ids[2]


def test_an_event_in_the_old_format_is_a_break(sessions: sessionmaker[Session]) -> None:
    """A process still on a release from before migration 0020 writes personal data hashed."""
    _, ids = _write(sessions)
    with transaction(sessions) as session:
        event = session.get(AuditEvent, ids[2])
        assert event is not None
        event.format = 1
        event.hash = event_hash(event)
        session.execute(
            update(AuditEvent).where(AuditEvent.id == ids[3]).values(prev_hash=event.hash)
        )
    report = _verify(sessions)
    assert report.first_break is not None


def test_unknown_keys_and_list_items_are_kept_apart() -> None:
    cut = split(
        "cli",
        None,
        {
            "status": "ok",
            "quality_questions": [{"text": "Who signs?"}],
            "ranking": [{"key": "price", "question": "q"}],
        },
    )
    assert cut.data == {"status": "ok", "ranking": [{"key": "price"}]}
    assert [(i.path, i.value) for i in cut.items] == [
        (("data", "quality_questions"), [{"text": "Who signs?"}]),
        (("data", "ranking", 0, "question"), "q"),
    ]


@pytest.mark.parametrize(
    "label", ["someone@force.example", "jane smith", "hunter2-my-password", "oidc:bad issuer"]
)
def test_any_actor_label_not_the_platforms_own_is_kept_apart(label: str) -> None:
    """A refused sign-in is recorded under whatever was typed, which may be anything."""
    cut = split(label, None, {})
    assert cut.actor_label == "user"
    assert [(i.path, i.value) for i in cut.items] == [(("actor",), label)]


@pytest.mark.parametrize("label", ["cli", "worker-cafe", "oidc:force-idp", "retention"])
def test_the_platforms_own_actors_are_hashed(label: str) -> None:
    assert split(label, None, {}).items == []


@pytest.mark.parametrize("data", [None, [1, 2], "text"], ids=["null", "list", "string"])
def test_an_erasure_event_with_data_that_is_not_an_object_is_a_break_not_a_crash(
    sessions: sessionmaker[Session], data
) -> None:
    _write(sessions)
    with transaction(sessions) as session:
        forged = record(session, Actor("cli"), PERSON_ERASED, "person", "x", {})
        forged.data = data
        forged.hash = event_hash(forged)
    report = _verify(sessions)
    assert report.first_break is not None
    assert report.first_break.event_id == forged.id
