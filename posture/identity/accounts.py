"""Local accounts: administrators, principals, passwords and role changes (sign-in is in
posture.identity.signin)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.audit import Actor, hold_append_lock, record
from posture.identity.passwords import hash_password
from posture.identity.permissions import (
    Membership,
    NotFound,
    PermissionDenied,
    Principal,
    require,
)
from posture.identity.token_cache import bump_identity_epoch
from posture.storage.locks import hold_exclusive
from posture.storage.models import Membership as MembershipRow
from posture.storage.models import Organisation, User
from posture.storage.models.enums import SUPPLIER_ROLES, OrgKind, Role

PLATFORM_SLUG = "platform"
# Held while the set of platform administrators is checked and changed.
ADMINS_LOCK = "platform-admins"


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=256)


def _validated(email: str, display_name: str, password: str) -> NewAccount:
    try:
        return NewAccount(email=email, display_name=display_name, password=password)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(f"{first['loc'][0]}: {first['msg']}") from exc


def principal_for(session: Session, user: User) -> Principal:
    memberships = session.scalars(
        select(MembershipRow).where(MembershipRow.user_id == user.id)
    ).all()
    return Principal(
        user_id=user.id,
        email=user.email,
        memberships=tuple(Membership(m.organisation_id, Role(m.role)) for m in memberships),
    )


def actor_of(principal: Principal) -> Actor:
    return Actor(label=principal.email, user_id=principal.user_id)


def has_admin(session: Session) -> bool:
    query = (
        select(func.count())
        .select_from(MembershipRow)
        .where(MembershipRow.role == Role.PLATFORM_ADMIN)
    )
    return bool(session.scalar(query))


def lock_admins(session: Session) -> None:
    """Hold the locks under which the set of administrators is checked and changed: the audit
    append lock first (every such change is audited, and sign-in provisioning holds it), then
    the administrators' own, so no two paths can take them in opposite orders."""
    hold_append_lock(session)
    hold_exclusive(session, ADMINS_LOCK)


def is_last_active_admin(session: Session, user_id: int) -> bool:
    """True when `user_id` is the only active platform administrator left. Call it holding
    `lock_admins`, so the answer still holds when the change commits."""
    active = (
        select(MembershipRow.user_id)
        .join(User, User.id == MembershipRow.user_id)
        .where(MembershipRow.role == Role.PLATFORM_ADMIN, User.is_active.is_(True))
        .distinct()
    )
    holders = set(session.scalars(active))
    return holders <= {user_id}


def _platform_org(session: Session) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == PLATFORM_SLUG))
    if org is None:
        org = Organisation(
            slug=PLATFORM_SLUG, name="PoliceTech Assure platform", kind=OrgKind.PLATFORM
        )
        session.add(org)
        session.flush()
    return org


@dataclass(frozen=True)
class PreparedAdmin:
    """A validated account with its password already hashed, so the slow hash is done before
    any lock is taken."""

    email: str
    display_name: str
    password_hash: str


def prepare_admin(email: str, display_name: str, password: str) -> PreparedAdmin:
    account = _validated(email, display_name, password)
    return PreparedAdmin(
        account.email.lower(),
        account.display_name,
        hash_password(account.password, account.email),
    )


def insert_admin(session: Session, actor: Actor, prepared: PreparedAdmin) -> User:
    user = User(
        email=prepared.email,
        display_name=prepared.display_name,
        password_hash=prepared.password_hash,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed(f"an account for {prepared.email} already exists") from None
    platform = _platform_org(session)
    session.add(
        MembershipRow(user_id=user.id, organisation_id=platform.id, role=Role.PLATFORM_ADMIN)
    )
    record(
        session,
        actor,
        "admin.created",
        "user",
        user.id,
        {"email": user.email},
        organisation_id=platform.id,
    )
    return user


def create_admin(
    session: Session, actor: Actor, email: str, display_name: str, password: str
) -> User:
    """A platform admin (from the CLI or the demo seed; first-run setup is in `setup`)."""
    return insert_admin(session, actor, prepare_admin(email, display_name, password))


def set_password(session: Session, actor: Actor, email: str, password: str) -> None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise ValidationFailed(f"no account for {email}")
    user.password_hash = hash_password(password, user.email)
    user.failed_logins, user.locked_until = 0, None
    record(session, actor, "auth.password_set", "user", user.id)


def _changing_roles(by: Principal | Actor, organisation_id: int, role: Role, verb: str) -> Actor:
    """Who a role change is recorded against. A signed-in principal is held to the permission
    table: platform admins change any role, supplier admins supplier roles in their own
    organisation. An Actor is the operator at the command line, who already controls the host."""
    if isinstance(by, Actor):
        return by
    require(by, "membership.manage", organisation_id, "organisation")
    if Role.PLATFORM_ADMIN not in by.roles() and role not in SUPPLIER_ROLES:
        raise PermissionDenied(f"supplier administrators can only {verb} supplier roles")
    return actor_of(by)


def grant_role(
    session: Session, by: Principal | Actor, user_id: int, organisation_id: int, role: Role
) -> bool:
    """Add the membership; False when the user already holds the role there."""
    actor = _changing_roles(by, organisation_id, role, "grant")
    organisation = session.get(Organisation, organisation_id)
    user = session.get(User, user_id)
    if organisation is None or user is None:
        raise NotFound("user or organisation not found")
    exists = session.scalar(
        select(MembershipRow).where(
            MembershipRow.user_id == user_id,
            MembershipRow.organisation_id == organisation_id,
            MembershipRow.role == role,
        )
    )
    if exists:
        return False
    session.add(MembershipRow(user_id=user_id, organisation_id=organisation_id, role=role))
    bump_identity_epoch(session)
    record(
        session,
        actor,
        "role.granted",
        "user",
        user_id,
        {"role": role.value, "organisation_id": organisation_id},
        organisation_id=organisation_id,
    )
    return True


def revoke_role(
    session: Session, by: Principal | Actor, user_id: int, organisation_id: int, role: Role
) -> None:
    actor = _changing_roles(by, organisation_id, role, "revoke")
    if role == Role.PLATFORM_ADMIN:
        # Checked under the same locks as first-run setup and federated sign-in, so two
        # removals at once cannot both succeed and leave the platform with none.
        lock_admins(session)
    row = session.scalar(
        select(MembershipRow).where(
            MembershipRow.user_id == user_id,
            MembershipRow.organisation_id == organisation_id,
            MembershipRow.role == role,
        )
    )
    if row is None:
        raise NotFound(f"membership not found: the user does not hold {role.value} there")
    if role == Role.PLATFORM_ADMIN and is_last_active_admin(session, user_id):
        raise ValidationFailed(
            "this is the last platform administrator; make another one before removing this one"
        )
    session.delete(row)
    bump_identity_epoch(session)
    record(
        session,
        actor,
        "role.revoked",
        "user",
        user_id,
        {"role": role.value, "organisation_id": organisation_id},
        organisation_id=organisation_id,
    )
