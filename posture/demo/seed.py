"""Write the demo estate into an empty database in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.orm import Session

from frameworks.loader import default_framework
from kernel.errors import ValidationFailed
from posture.audit import SYSTEM, record
from posture.check_milestones import record_milestones
from posture.demo.estate import DemoEstate, stream_estate
from posture.framework_registry import register_framework
from posture.identity.accounts import create_admin
from posture.identity.passwords import generate_password, hash_password
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Finding,
    Membership,
    Organisation,
    Product,
    User,
)
from posture.storage.models.enums import Role

CHUNK = 20_000
MAX_SUPPLIERS = 100_000

_TABLES: Sequence[tuple[str, Table]] = (
    ("organisations", Organisation.__table__),  # type: ignore[arg-type]
    ("users", User.__table__),  # type: ignore[arg-type]
    ("memberships", Membership.__table__),  # type: ignore[arg-type]
    ("products", Product.__table__),  # type: ignore[arg-type]
    ("assessments", Assessment.__table__),  # type: ignore[arg-type]
    ("answers", Answer.__table__),  # type: ignore[arg-type]
    ("check_runs", CheckRun.__table__),  # type: ignore[arg-type]
    ("findings", Finding.__table__),  # type: ignore[arg-type]
)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    password: str


@dataclass(frozen=True)
class SeedResult:
    counts: dict[str, int]
    logins: list[DemoLogin]


def _bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        connection.execute(insert(table), rows[start : start + CHUNK])


def _reset_sequences(connection: Connection) -> None:
    """Explicit ids leave PostgreSQL sequences behind; move them past the seeded rows."""
    if connection.dialect.name != "postgresql":
        return
    for name, _table in _TABLES:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
            )
        )


def _give_logins(estate: DemoEstate, enabled: bool, seen_roles: set[str]) -> list[DemoLogin]:
    """One login per role (the first user with it, across the parts), with a random password
    shown once; every other user has none."""
    if not enabled:
        return []
    logins: list[DemoLogin] = []
    users_by_id = {user["id"]: user for user in estate.users}
    for membership in estate.memberships:
        if membership["role"] in seen_roles:
            continue
        seen_roles.add(membership["role"])
        user = users_by_id[membership["user_id"]]
        password = generate_password()
        user["password_hash"] = hash_password(password)
        logins.append(DemoLogin(user["email"], membership["role"], password))
    return logins


DEMO_ADMIN_EMAIL = "admin@assure.police.example"


def _demo_admin(session: Session) -> DemoLogin:
    """A platform administrator, so a seeded estate never greets its first visitor with setup."""
    password = generate_password()
    create_admin(session, SYSTEM, DEMO_ADMIN_EMAIL, "Demo administrator", password)
    return DemoLogin(DEMO_ADMIN_EMAIL, "platform_admin", password)


# People the generated estate does not hold (it gives each organisation one user): challenge
# judges (the first beside the College of Policing's challenge manager; three, so a challenge
# needing two judges an entry survives one judge's conflict), and a member of the first supplier.
# With --with-logins the first person of each role gets a password.
_DEMO_PEOPLE: tuple[tuple[str, str, str, Role], ...] = (
    (
        "college-of-policing",
        "judge@college-of-policing.police.example",
        "challenge judge",
        Role.CHALLENGE_JUDGE,
    ),
    (
        "police-digital-service",
        "judge@police-digital-service.police.example",
        "challenge judge",
        Role.CHALLENGE_JUDGE,
    ),
    ("npcc", "judge@npcc.police.example", "challenge judge", Role.CHALLENGE_JUDGE),
    (
        "supplier-00001",
        "member@supplier-00001.supplier.example",
        "team member",
        Role.SUPPLIER_MEMBER,
    ),
)


def _demo_people(session: Session, with_logins: bool) -> list[DemoLogin]:
    logins: list[DemoLogin] = []
    for slug, email, name, role in _DEMO_PEOPLE:
        organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
        if organisation is None:  # an estate of no suppliers has no first supplier
            continue
        first_of_role = all(login.role != role.value for login in logins)
        password = generate_password() if with_logins and first_of_role else None
        user = User(
            email=email,
            display_name=f"{organisation.name} {name}",
            password_hash=hash_password(password) if password else None,
        )
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=role))
        if password:
            logins.append(DemoLogin(email, role.value, password))
    session.flush()
    return logins


def seed_demo(
    session: Session, suppliers: int, seed: int, as_of: date, with_logins: bool = False
) -> SeedResult:
    if not 0 <= suppliers <= MAX_SUPPLIERS:
        raise ValidationFailed(f"--suppliers must be between 0 and {MAX_SUPPLIERS}")
    existing = session.scalar(select(func.count()).select_from(Organisation))
    if existing:
        raise ValidationFailed(
            f"the database already holds {existing} organisations; seed an empty database "
            "(set ASSURE_DATA_DIR or ASSURE_DATABASE_URL to a new one)"
        )
    loaded = default_framework()
    framework_row = register_framework(session, loaded)
    parts = stream_estate(
        loaded.framework, loaded.profiles, framework_row.id, suppliers, seed, as_of, loaded.scoring
    )
    connection = session.connection()
    counts = dict.fromkeys(DemoEstate().counts(), 0)
    logins: list[DemoLogin] = []
    seen_roles: set[str] = set()
    for part in parts:
        logins += _give_logins(part, with_logins, seen_roles)
        for name, table in _TABLES:
            _bulk_insert(connection, table, getattr(part, name))
        # As record_check_run does: the milestones each run judged, as rows of their own.
        record_milestones(connection, [(run["id"], run["result"]) for run in part.check_runs])
        for name, count in part.counts().items():
            counts[name] += count
    _reset_sequences(connection)
    logins += _demo_people(session, with_logins)
    if with_logins:
        logins.append(_demo_admin(session))
    record(
        session,
        SYSTEM,
        "demo.seeded",
        "estate",
        "demo",
        {"suppliers": suppliers, "seed": seed, "as_of": as_of.isoformat(), "counts": counts},
    )
    return SeedResult(counts=counts, logins=logins)
