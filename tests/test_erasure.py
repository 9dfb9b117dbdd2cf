"""`assure admin erase-person`: a person asks to be forgotten. Afterwards their address and name
are nowhere in the database (its file, its log and every free-text field), their account cannot
sign in, someone else's data is untouched, and `assure audit verify` still passes, checkpoints
signed before the erasure included."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kernel.data_dir import ensure_data_dir
from kernel.errors import ValidationFailed
from kernel.settings import Settings, load_settings
from posture.audit import PERSON_ERASED, Actor, record, verify_chain
from posture.audit_checkpoint import write_checkpoint
from posture.audit_checkpoint_verify import ERASURE_UNSIGNED, verify_trail
from posture.audit_personal import erased_digest, erased_form, item_key
from posture.erasure import erase_person
from posture.identity.accounts import create_admin
from posture.identity.permissions import Membership as Held
from posture.identity.permissions import Principal
from posture.identity.sessions import open_session, resume_session
from posture.identity.signin import SignInFailed, sign_in_with_password
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    ApiToken,
    AuditEvent,
    AuditPersonal,
    Job,
    Membership,
    Organisation,
    Product,
    User,
)
from posture.storage.models.enums import Role, RunStatus
from tests.cli import assure

ALICE = "Alice.Jones@Supplier.example"
ALICE_NAME = "Alice Jones"
BOB = "bob.smith@force.example"
CLI = Actor("cli")
ADMIN_PASSWORD = "correct-Horse-battery-staple-42"


@dataclass
class People:
    alice: int
    bob: int
    organisation: int
    alice_session: str


def _people(sessions: sessionmaker[Session]) -> People:
    """Alice works for a supplier; Bob, an assessor, writes about her; she is the product's
    security contact and named in its description and in a job's input."""
    with transaction(sessions) as session:
        create_admin(session, CLI, "admin@platform.example", "Platform Admin", ADMIN_PASSWORD)
        org = Organisation(slug="acme", name="Acme Ltd", kind="supplier", security_contact=ALICE)
        session.add(org)
        session.flush()
        alice = User(email=ALICE.lower(), display_name=ALICE_NAME, password_hash="argon2-hash")
        bob = User(email=BOB, display_name="Bob Smith", password_hash="argon2-hash")
        session.add_all([alice, bob])
        session.flush()
        session.add(Membership(user_id=alice.id, organisation_id=org.id, role=Role.SUPPLIER_ADMIN))
        product = Product(
            organisation_id=org.id,
            name="Acme Evidence",
            category="evidence_management",
            deployment_model="saas",
            description=f"Ask {ALICE_NAME} ({ALICE.lower()}) for a demonstration.",
        )
        session.add(product)
        session.flush()
        session.add(
            Job(kind="check.tls", status=RunStatus.SUCCEEDED, payload={"contact": ALICE.lower()})
        )
        session.add(
            ApiToken(
                jti="t1",
                user_id=alice.id,
                scopes=["products:read"],
                description="Alice's pipeline",
                expires_at=org.created_at,
            )
        )
        me = Principal(alice.id, alice.email, (Held(org.id, Role.SUPPLIER_ADMIN),))
        token = open_session(session, me)
        as_alice = Actor(ALICE.lower(), alice.id, org.id)
        record(session, CLI, "user.created", "user", alice.id, {"email": ALICE.lower()})
        record(session, as_alice, "auth.login", "user", alice.id, {"method": "password"})
        record(session, Actor(ALICE.lower()), "auth.login_failed", "user", "-", {})
        record(session, as_alice, "product.updated", "product", product.id, {"changed": {}})
        record(
            session,
            Actor(BOB, bob.id),
            "answer.reviewed",
            "answer",
            1,
            {"outcome_id": "A1.a", "message": f"Spoke to {ALICE_NAME}: evidence is fine"},
        )
        record(session, Actor(BOB, bob.id), "auth.login", "user", bob.id, {"method": "password"})
        return People(alice.id, bob.id, org.id, token)


@pytest.fixture
def data_dir(sqlite_env: dict[str, str]) -> Path:
    return Path(sqlite_env["ASSURE_DATA_DIR"])


@pytest.fixture
def file_sessions(data_dir: Path) -> sessionmaker[Session]:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(data_dir)}))
    migrate.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def _database_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob("assure.db*")).lower()


def test_an_erased_person_is_nowhere_in_the_database_and_the_trail_verifies(
    file_sessions: sessionmaker[Session], data_dir: Path, sqlite_env: dict[str, str]
) -> None:
    people = _people(file_sessions)
    write_checkpoint(file_sessions, data_dir, "cli")
    assert ALICE.lower().encode() in _database_bytes(data_dir)

    result = assure(
        "admin",
        "erase-person",
        ALICE,
        "--reference",
        "DPO-2026/0042",
        "--yes",
        "--json",
        env=sqlite_env,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["accounts"] == 1
    assert report["audit_events"] == 5  # created, signed in, failed sign-in, update, Bob's review
    assert report["audit_items"] == 5
    assert report["text_fields"] == 3  # security contact, description, job input
    assert report["reclaimed"] is True

    stored = _database_bytes(data_dir)
    for trace in (ALICE.lower(), "alice.jones", ALICE_NAME.lower(), "alice's pipeline"):
        assert trace.encode() not in stored, trace
    assert BOB.encode() in stored  # Bob was not erased

    verified = assure("audit", "verify", "--json", env=sqlite_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    trail = json.loads(verified.stdout)
    assert trail["first_break"] is None
    assert [f["code"] for f in trail["findings"]] == []

    with file_sessions() as session:
        assert resume_session(session, people.alice_session) is None
        alice = session.get(User, people.alice)
        assert alice is not None
        assert not alice.is_active
        assert alice.password_hash is None
        assert alice.email == report["pseudonym"]
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0
        assert session.get(Organisation, people.organisation).security_contact is None
        description = session.scalar(select(Product.description))
        assert description == "Ask [erased person] ([erased person]) for a demonstration."
        erasure = session.scalars(
            select(AuditEvent).where(AuditEvent.action == PERSON_ERASED)
        ).one()
        assert erasure.data["case_reference"] == "DPO-2026/0042"
        assert erasure.data["audit_events"] == 5
        bob_review, bob_login = session.scalars(
            select(AuditEvent).where(AuditEvent.actor_user_id == people.bob).order_by(AuditEvent.id)
        ).all()
        assert bob_login.shown_actor == BOB
        # Bob's review named Alice: his words about her go, he stays its author.
        assert bob_review.shown_actor == BOB
        assert bob_review.shown_data["message"] == "erased person"


def test_a_reference_that_could_carry_a_person_is_refused_and_nothing_changes(
    file_sessions: sessionmaker[Session], data_dir: Path, sqlite_env: dict[str, str]
) -> None:
    _people(file_sessions)
    before = _database_bytes(data_dir).count(ALICE.lower().encode())
    result = assure(
        "admin",
        "erase-person",
        ALICE,
        "--reference",
        "asked by alice@x.example",
        "--yes",
        env=sqlite_env,
    )
    assert result.returncode != 0
    assert "reference" in result.stderr
    assert "Traceback" not in result.stderr
    with file_sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.action == PERSON_ERASED)) == 0
        assert session.scalar(select(User.is_active).where(User.id == 2)) is True
    assert _database_bytes(data_dir).count(ALICE.lower().encode()) == before


def test_erasure_without_confirmation_changes_nothing(
    file_sessions: sessionmaker[Session], sqlite_env: dict[str, str]
) -> None:
    _people(file_sessions)
    result = assure(
        "admin", "erase-person", ALICE, "--reference", "DPO-1", env=sqlite_env, input_text="n\n"
    )
    assert result.returncode != 0
    with file_sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.action == PERSON_ERASED)) == 0


def test_the_last_administrator_cannot_be_erased(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    with transaction(sessions) as session:
        create_admin(session, CLI, "only@platform.example", "Only Admin", ADMIN_PASSWORD)
    with pytest.raises(ValidationFailed, match="last active platform administrator"):
        erase_person(
            sessions, CLI, "only@platform.example", "DPO-7", ensure_data_dir(backend_settings)
        )
    with sessions() as session:
        assert session.scalar(select(User.is_active)) is True
        assert verify_chain(session).intact


def test_twenty_erasures_at_once_each_erase_their_person(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    with transaction(sessions) as session:
        create_admin(session, CLI, "admin@platform.example", "Platform Admin", ADMIN_PASSWORD)
        users = []
        for n in range(20):
            user = User(email=f"person{n}@force.example", display_name=f"Person Number {n}")
            session.add(user)
            session.flush()
            users.append(user.id)
            record(session, Actor(user.email, user.id), "auth.login", "user", user.id, {})
    errors: list[BaseException] = []

    def erase(n: int) -> None:
        try:
            erase_person(
                sessions,
                CLI,
                f"person{n}@force.example",
                f"DPO-{n}",
                ensure_data_dir(backend_settings),
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=erase, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with sessions() as session:
        emails = session.scalars(select(User.email).where(User.id.in_(users))).all()
        assert all(e.endswith("@erased.invalid") for e in emails)
        assert session.scalar(select(func.count()).where(AuditEvent.action == PERSON_ERASED)) == 20
        report = verify_trail(session, ensure_data_dir(backend_settings))
        assert report.intact, (report.chain.first_break, report.findings)


def test_an_erasure_forged_in_the_database_is_found(
    file_sessions: sessionmaker[Session], data_dir: Path, sqlite_env: dict[str, str]
) -> None:
    """Someone who can write the database but not sign appends an erasure and blanks Bob's
    review with it: the chain links, but no signed record stands behind the erasure."""
    _people(file_sessions)
    write_checkpoint(file_sessions, data_dir, "cli")
    with transaction(file_sessions) as session:
        review = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "answer.reviewed")
        ).one()
        items = list(review.personal.payload["items"])
        keys = [item_key(review.id, item["path"]) for item in items]
        forged = record(
            session,
            CLI,
            PERSON_ERASED,
            "person",
            "x",
            {
                "erased_digest": erased_digest(keys),
            },
        )
        erased = [erased_form(item, forged.id) for item in items]
        session.execute(
            update(AuditPersonal)
            .where(AuditPersonal.event_id == review.id)
            .values(payload={"items": erased})
        )
    result = assure("audit", "verify", "--json", env=sqlite_env)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["first_break"] is None  # the chain alone is fooled
    assert [f["code"] for f in report["findings"]] == [ERASURE_UNSIGNED]


def _someone_named_in_a_product(
    sessions: sessionmaker[Session],
    person: tuple[str, str],
    description: str,
    contact: str | None = None,
) -> None:
    """An administrator (so the person is never the last), the person's account, and another
    supplier's product whose description (and security contact) may name them."""
    email, name = person
    with transaction(sessions) as session:
        create_admin(session, CLI, "admin@platform.example", "Platform Admin", ADMIN_PASSWORD)
        org = Organisation(slug="acme", name="Acme", kind="supplier", security_contact=contact)
        session.add(org)
        session.add(User(email=email, display_name=name))
        session.flush()
        session.add(
            Product(
                organisation_id=org.id,
                name="Acme",
                category="evidence_management",
                deployment_model="saas",
                description=description,
            )
        )


def _contact_and_description(sessions: sessionmaker[Session]) -> tuple[str | None, str | None]:
    with sessions() as session:
        contact = select(Organisation.security_contact).where(Organisation.slug == "acme")
        return session.scalar(contact), session.scalar(select(Product.description))


def test_an_address_is_matched_whole_not_inside_another(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    _someone_named_in_a_product(
        sessions,
        ("jo@police.uk", "Jo"),
        "Contacts: banjo@police.uk, jo@police.uk. Escalate to Łukasz Nowak.",
        contact="banjo@police.uk",
    )
    erase_person(sessions, CLI, "jo@police.uk", "DPO-21", ensure_data_dir(backend_settings))
    assert _contact_and_description(sessions) == (
        "banjo@police.uk",
        "Contacts: banjo@police.uk, [erased person]. Escalate to Łukasz Nowak.",
    )


def test_a_name_in_any_script_is_found(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    """SQLite folds case for ASCII only; a name starting with Ł is still found."""
    _someone_named_in_a_product(
        sessions,
        ("lukasz@supplier.example", "Łukasz Nowak"),
        "Escalate to ŁUKASZ NOWAK or łukasz nowak.",
    )
    erase_person(
        sessions, CLI, "lukasz@supplier.example", "DPO-22", ensure_data_dir(backend_settings)
    )
    assert _contact_and_description(sessions)[1] == (
        "Escalate to [erased person] or [erased person]."
    )


def test_a_one_word_name_is_not_searched_for(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    """Erasing a "David" must not touch David Jones, nor david@ anywhere."""
    _someone_named_in_a_product(
        sessions,
        ("ds@police.uk", "David"),
        "Ask David Jones (david@acme.example) or ds@police.uk.",
        contact="david@acme.example",
    )
    erase_person(sessions, CLI, "ds@police.uk", "DPO-23", ensure_data_dir(backend_settings))
    assert _contact_and_description(sessions) == (
        "david@acme.example",
        "Ask David Jones (david@acme.example) or [erased person].",
    )


@pytest.mark.parametrize(
    "reference", ["asked by alice@x.example", "DPO-1/alice.jones", "Jane Smith", "dpo-1", ""]
)
def test_a_reference_that_could_name_someone_is_refused(
    sessions: sessionmaker[Session], backend_settings: Settings, reference: str
) -> None:
    with pytest.raises(ValidationFailed, match="reference"):
        erase_person(sessions, CLI, ALICE, reference, ensure_data_dir(backend_settings))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize(
    "typed", ["system", "worker", "migration 7", "oidc:jane.smith", ALICE.lower()]
)
def test_whatever_is_typed_at_a_refused_sign_in_is_a_personal_item(
    sessions: sessionmaker[Session], typed: str
) -> None:
    with pytest.raises(SignInFailed):
        sign_in_with_password(sessions, typed, "wrong password", "203.0.113.7")
    with sessions() as session:
        event = session.scalars(select(AuditEvent)).one()
        assert event.actor_label == "sign-in"
        assert typed not in str(event.data)
        assert event.shown_data["email"] == typed
