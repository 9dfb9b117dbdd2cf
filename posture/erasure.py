"""Erasing a person (UK GDPR Article 17): their account is pseudonymised, their sign-in
material deleted, their address and name replaced in free text, and every personal item of the
audit trail that is theirs or names them erased, while the hash chain still verifies.

The erasure is itself audited, without the person: the event holds the operator's case
reference, what was changed and a digest of exactly which items it erased, and a record of it
signed with the platform's keys goes to the data folder, so an erasure cannot be forged by
someone who can only write the database (posture/audit_erasures.py).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Text, cast, delete, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from posture.audit import PERSON_ERASED, Actor, record
from posture.audit_erasures import sign_erasure
from posture.audit_personal import (
    ACTOR_PATH,
    erased_digest,
    erased_form,
    is_erased,
    item_key,
    stored_items,
)
from posture.identity.accounts import lock_admins
from posture.identity.token_cache import bump_identity_epoch
from posture.personal_data import FREE_TEXT, REPLACEMENT, SHORTEST_NAME
from posture.storage.engine import transaction
from posture.storage.models import (
    ApiToken,
    AuditEvent,
    AuditPersonal,
    Invitation,
    Membership,
    MfaFactor,
    Organisation,
    PasskeyChallenge,
    PasskeyCredential,
    RecoveryCode,
    User,
    UserSession,
)
from posture.storage.models.enums import Role

BATCH = 2_000
PSEUDONYM_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox
ERASED_NAME = "Erased person"
# A case number such as DPO-2026/0042: a short capital prefix, then digits. It goes into the
# hashed trail, so it is held to a shape that a name or an address does not have.
REFERENCE = r"^[A-Z]{0,12}[-/]?[0-9][0-9/-]{0,30}$"
# A deadlock or serialisation failure (PostgreSQL): the erasure is one transaction, run again.
RETRIED_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str = Field(min_length=3, max_length=254)
    reference: str = Field(pattern=REFERENCE)

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip()
        if "@" not in value or any(c.isspace() for c in value):
            raise ValueError("not an e-mail address")
        return value


class ErasureReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    reference: str
    pseudonym: str
    accounts: int
    sign_in_records: int
    audit_items: int
    audit_events: int
    text_fields: int
    erasure_event_id: int
    # False when SQLite could not yet copy the erased pages out of its write-ahead log (another
    # connection was reading): the old values stay in the log file until the next checkpoint.
    reclaimed: bool


@dataclass(frozen=True)
class _Person:
    user_ids: list[int]
    email: str
    names: list[str]

    @property
    def pattern(self) -> re.Pattern[str]:
        """The address as a whole address (banjo@x is not jo@x), names as whole words."""
        parts = [rf"(?<![\w.+-]){re.escape(self.email)}(?![\w-]|\.\w)"]
        parts += [rf"(?<![\w.@+-]){re.escape(name)}(?![\w@-])" for name in self.names]
        return re.compile("|".join(parts), re.IGNORECASE)

    def searched_forms(self) -> list[str]:
        """Lower-cased fragments a matching value contains, for a coarse filter in SQL; None of
        them for a term that is not ASCII (SQLite folds case for ASCII only)."""
        return [t.lower() for t in (self.email, *self.names)]


def _person(session: Session, email: str) -> _Person:
    users = list(session.scalars(select(User).where(func.lower(User.email) == email.lower())))
    # A full name of two words or more: one word ("David") names many people.
    names = sorted(
        {
            " ".join(u.display_name.split())
            for u in users
            if len(u.display_name.strip()) >= SHORTEST_NAME and len(u.display_name.split()) >= 2
        }
    )
    return _Person([u.id for u in users], email, names)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _replaced(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [_replaced(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _replaced(item, pattern) for key, item in value.items()}
    return value


def _candidates(field_is_json: bool, column: Any, person: _Person, dialect: str) -> Any:
    forms = person.searched_forms()
    if dialect == "sqlite" and not all(form.isascii() for form in forms):
        return column.is_not(None)  # SQLite folds ASCII only: every row, matched in Python
    searched = func.lower(cast(column, Text)) if field_is_json else func.lower(column)
    escaped = [json.dumps(form)[1:-1] for form in forms]
    return or_(*(searched.contains(form, autoescape=True) for form in {*forms, *escaped}))


def _replace_in_text(session: Session, person: _Person) -> int:
    pattern = person.pattern
    dialect = session.get_bind().dialect.name
    changed = 0
    for field in FREE_TEXT:
        column = field.column
        model = column.class_
        key = model.__mapper__.primary_key[0]
        query = select(key, column).where(_candidates(field.is_json, column, person, dialect))
        for row_id, value in session.execute(query.with_for_update()).all():
            if value is None:
                continue
            if (
                column is Organisation.security_contact
                and value.casefold() == person.email.casefold()
            ):
                new: Any = None
            else:
                new = _replaced(value, pattern)
            if new != value:
                session.execute(update(model).where(key == row_id).values({column.key: new}))
                changed += 1
    return changed


def _pseudonymise_accounts(session: Session, user_ids: list[int], pseudonym: str) -> int:
    removed = 0
    for model in (UserSession, ApiToken, MfaFactor, RecoveryCode, PasskeyCredential):
        removed += session.execute(delete(model).where(model.user_id.in_(user_ids))).rowcount or 0
    session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.user_id.in_(user_ids)))
    session.execute(delete(Membership).where(Membership.user_id.in_(user_ids)))
    for number, user_id in enumerate(user_ids):
        address = pseudonym if number == 0 else pseudonym.replace("@", f"-{number}@")
        session.execute(
            update(User)
            .where(User.id == user_id)
            .values(
                email=address,
                display_name=ERASED_NAME,
                password_hash=None,
                is_active=False,
                failed_logins=0,
                locked_until=None,
                last_login_at=None,
            )
        )
    if user_ids:
        bump_identity_epoch(session)
    return removed


def _refuse_last_admins(session: Session, person: _Person) -> None:
    """Erasing every active administrator would leave nobody to run the platform."""
    active = set(
        session.scalars(
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.role == Role.PLATFORM_ADMIN, User.is_active.is_(True))
        )
    )
    if active and active <= set(person.user_ids):
        raise ValidationFailed(
            "this is the last active platform administrator; appoint another first"
        )


def _items_to_erase(session: Session, person: _Person) -> dict[int, list[int]]:
    """For each event, the positions of the items that are the person's or name them."""
    pattern = person.pattern
    found: dict[int, list[int]] = {}
    last = 0
    while True:
        rows = session.execute(
            select(AuditPersonal.event_id, AuditPersonal.payload, AuditEvent.actor_user_id)
            .join(AuditEvent, AuditEvent.id == AuditPersonal.event_id)
            .where(AuditPersonal.event_id > last)
            .order_by(AuditPersonal.event_id)
            .limit(BATCH)
        ).all()
        if not rows:
            return found
        for event_id, payload, actor_id in rows:
            positions = []
            for index, item in enumerate(stored_items(_Held(payload))):
                if is_erased(item) or not isinstance(item, dict):
                    continue
                mine = item.get("path") == list(ACTOR_PATH) and actor_id in person.user_ids
                text_of = json.dumps(item.get("value"), ensure_ascii=False)
                if mine or pattern.search(text_of):
                    positions.append(index)
            if positions:
                found[event_id] = positions
        last = rows[-1].event_id


@dataclass(frozen=True)
class _Held:
    payload: Any


def _erase_audit(
    session: Session, actor: Actor, request: ErasureRequest, counts: dict[str, Any]
) -> AuditEvent:
    targets: dict[int, list[int]] = counts.pop("targets")
    payloads = {}
    keys = []
    for chunk in _chunks(sorted(targets)):
        for event_id, payload in session.execute(
            select(AuditPersonal.event_id, AuditPersonal.payload).where(
                AuditPersonal.event_id.in_(chunk)
            )
        ):
            payloads[event_id] = payload
            keys += [item_key(event_id, payload["items"][i]["path"]) for i in targets[event_id]]
    erasure = record(
        session,
        actor,
        PERSON_ERASED,
        "person",
        counts["pseudonym"].split("@")[0],
        {
            "case_reference": request.reference,
            "accounts": counts["accounts"],
            "audit_events": len(targets),
            "text_fields": counts["text_fields"],
            "erased_digest": erased_digest(keys),
        },
    )
    for event_id, positions in targets.items():
        items = list(payloads[event_id]["items"])
        for index in positions:
            items[index] = erased_form(items[index], erasure.id)
        session.execute(
            update(AuditPersonal)
            .where(AuditPersonal.event_id == event_id)
            .values(payload={"items": items})
        )
    counts["audit_items"] = len(keys)
    return erasure


def erase_person(
    sessions: sessionmaker[Session], actor: Actor, email: str, reference: str, data_dir: Path
) -> ErasureReport:
    try:
        request = ErasureRequest(email=email, reference=reference)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ValidationFailed(f"{where}: {first['msg']}") from None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _erase_once(sessions, actor, request, data_dir)
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
            if code not in RETRIED_SQLSTATES or attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _erase_once(
    sessions: sessionmaker[Session], actor: Actor, request: ErasureRequest, data_dir: Path
) -> ErasureReport:
    pseudonym = f"erased-{secrets.token_hex(8)}@{PSEUDONYM_DOMAIN}"
    with transaction(sessions) as session:
        _secure_delete(session, True)
        person = _person(session, request.email)
        # Rows first and the chain's lock after, as most changes do (their rows, then their
        # audit event). A path that takes the lock first (the retention sweep) can still
        # deadlock with it on PostgreSQL; the whole erasure is then run again.
        counts: dict[str, Any] = {
            "pseudonym": pseudonym,
            "accounts": len(person.user_ids),
            "text_fields": _replace_in_text(session, person),
        }
        lock_admins(session)
        _refuse_last_admins(session, person)
        counts["sign_in_records"] = _pseudonymise_accounts(session, person.user_ids, pseudonym)
        # Invitations still open to the address hold it (an accepted one no longer does).
        counts["sign_in_records"] += (
            session.execute(
                delete(Invitation).where(func.lower(Invitation.email) == person.email.lower())
            ).rowcount
            or 0
        )
        counts["targets"] = _items_to_erase(session, person)
        events = len(counts["targets"])
        erasure = _erase_audit(session, actor, request, counts)
        _secure_delete(session, False)
        # Signed before the commit: a record whose event then fails to commit names an event
        # that does not exist and is ignored, while a committed erasure always has its record.
        sign_erasure(data_dir, erasure.id, erasure.hash, str(erasure.data["erased_digest"]))
    return ErasureReport(
        reference=request.reference,
        pseudonym=pseudonym,
        accounts=counts["accounts"],
        sign_in_records=counts["sign_in_records"],
        audit_items=counts["audit_items"],
        audit_events=events,
        text_fields=counts["text_fields"],
        erasure_event_id=erasure.id,
        reclaimed=_reclaim(sessions),
    )


def _secure_delete(session: Session, on: bool) -> None:
    """SQLite overwrites deleted and replaced content with zeros, so the old values are not
    left in free pages of the database file."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}"))


def _reclaim(sessions: sessionmaker[Session], attempts: int = 20) -> bool:
    """Copy the erased pages out of the write-ahead log into the database and empty the log
    (SQLite), retrying while readers hold it; on PostgreSQL, VACUUM the tables so old row
    versions are pruned (VACUUM FULL would be needed to rewrite the files)."""
    engine = sessions.kw["bind"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            for _ in range(attempts):
                busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                if busy is not None and busy[0] == 0:
                    return True
                time.sleep(0.1)
        return False
    if engine.dialect.name == "postgresql":
        tables = {"users", "audit_personal", *(f.name.split(".")[0] for f in FREE_TEXT)}
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in sorted(tables):
                connection.exec_driver_sql(f'VACUUM "{table}"')
    return True
