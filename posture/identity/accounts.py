"""Local accounts: the first admin, sign-in with throttling and lockout, role changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posture.audit import Actor, record
from posture.errors import AssureError, ValidationFailed
from posture.identity.passwords import hash_password, needs_rehash, verify_password
from posture.identity.permissions import (
    Membership,
    NotFound,
    PermissionDenied,
    Principal,
    require,
)
from posture.identity.policy import identity_policy
from posture.storage.base import utcnow
from posture.storage.models import Membership as MembershipRow
from posture.storage.models import Organisation, User
from posture.storage.models.enums import OrgKind, Role

PLATFORM_SLUG = "platform"
SUPPLIER_ROLES = {Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER}
SIGN_IN_FAILED = (
    "sign-in failed: wrong email or password, or the account is locked for a while after "
    "repeated failures"
)


class SignInFailed(AssureError):
    """Deliberately one message for every reason, so it reveals nothing about accounts."""


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


def _platform_org(session: Session) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == PLATFORM_SLUG))
    if org is None:
        org = Organisation(
            slug=PLATFORM_SLUG, name="PoliceTech Assure platform", kind=OrgKind.PLATFORM
        )
        session.add(org)
        session.flush()
    return org


def create_admin(
    session: Session,
    actor: Actor,
    email: str,
    display_name: str,
    password: str,
    first_run: bool = False,
) -> User:
    """A platform admin. With first_run, refused once any admin exists (the app's setup page)."""
    account = _validated(email, display_name, password)
    if first_run and has_admin(session):
        raise ValidationFailed("the first administrator has already been created; sign in")
    user = User(
        email=account.email.lower(),
        display_name=account.display_name,
        password_hash=hash_password(account.password, account.email),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed(f"an account for {account.email} already exists") from None
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


def authenticate(
    session: Session, email: str, password: str, now: datetime | None = None
) -> Principal:
    """Check a password; count failures and lock the account after too many."""
    now = now or utcnow()
    policy = identity_policy()
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        verify_password(None, password)  # same work as a real check
        record(
            session,
            Actor(label=email.strip()[:254]),
            "auth.login_failed",
            "user",
            "-",
            {"reason": "unknown or inactive account"},
        )
        raise SignInFailed(SIGN_IN_FAILED)
    if user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)
        record(
            session,
            Actor(label=user.email, user_id=user.id),
            "auth.login_refused",
            "user",
            user.id,
            {"reason": "locked"},
        )
        raise SignInFailed(SIGN_IN_FAILED)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        data: dict[str, object] = {"failed_logins": user.failed_logins}
        if user.failed_logins >= policy.max_failed_logins:
            user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            user.failed_logins = 0
            data["locked_until"] = user.locked_until.isoformat()
        record(
            session,
            Actor(label=user.email, user_id=user.id),
            "auth.login_failed",
            "user",
            user.id,
            data,
        )
        raise SignInFailed(SIGN_IN_FAILED)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record(session, Actor(label=user.email, user_id=user.id), "auth.login", "user", user.id)
    return principal_for(session, user)


def set_password(session: Session, actor: Actor, email: str, password: str) -> None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise ValidationFailed(f"no account for {email}")
    user.password_hash = hash_password(password, user.email)
    user.failed_logins, user.locked_until = 0, None
    record(session, actor, "auth.password_set", "user", user.id)


def grant_role(
    session: Session, principal: Principal, user_id: int, organisation_id: int, role: Role
) -> None:
    """Platform admins grant any role; supplier admins grant supplier roles in their own org."""
    require(principal, "membership.manage", organisation_id, "organisation")
    organisation = session.get(Organisation, organisation_id)
    user = session.get(User, user_id)
    if organisation is None or user is None:
        raise NotFound("user or organisation not found")
    if Role.PLATFORM_ADMIN not in principal.roles() and role not in SUPPLIER_ROLES:
        raise PermissionDenied("supplier administrators can only grant supplier roles")
    exists = session.scalar(
        select(MembershipRow).where(
            MembershipRow.user_id == user_id,
            MembershipRow.organisation_id == organisation_id,
            MembershipRow.role == role,
        )
    )
    if exists:
        return
    session.add(MembershipRow(user_id=user_id, organisation_id=organisation_id, role=role))
    record(
        session,
        actor_of(principal),
        "role.granted",
        "user",
        user_id,
        {"role": role.value, "organisation_id": organisation_id},
        organisation_id=organisation_id,
    )


def revoke_role(
    session: Session, principal: Principal, user_id: int, organisation_id: int, role: Role
) -> None:
    require(principal, "membership.manage", organisation_id, "organisation")
    if Role.PLATFORM_ADMIN not in principal.roles() and role not in SUPPLIER_ROLES:
        raise PermissionDenied("supplier administrators can only revoke supplier roles")
    row = session.scalar(
        select(MembershipRow).where(
            MembershipRow.user_id == user_id,
            MembershipRow.organisation_id == organisation_id,
            MembershipRow.role == role,
        )
    )
    if row is None:
        raise NotFound("membership not found")
    session.delete(row)
    record(
        session,
        actor_of(principal),
        "role.revoked",
        "user",
        user_id,
        {"role": role.value, "organisation_id": organisation_id},
        organisation_id=organisation_id,
    )
