"""Invitations: an administrator invites an e-mail address into an organisation in a role; the
invitee redeems the one-time code to make their account (or, holding an account already, to
join from it once signed in).

The code is 192 random bits, shown to the inviter once; only its SHA-256 is stored. It is good
once, for INVITATION_DAYS unless revoked: redemption is one conditional update, so of twenty
redemptions at once exactly one succeeds. An address that already has an account is not given
a second one: its owner signs in and redeems the code from their account, which proves the
address is theirs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.identity.accounts import _validated as validated_account
from posture.identity.accounts import actor_of, principal_for
from posture.identity.passwords import hash_password
from posture.identity.people import USER_MANAGE, require_may_give
from posture.identity.permissions import (
    NotFound,
    PermissionDenied,
    Principal,
    require,
    visible_organisations,
)
from posture.identity.roles import require_held_in, role_name
from posture.identity.token_cache import bump_identity_epoch
from posture.storage.models import Invitation, Membership, Organisation, User
from posture.storage.models.enums import Role

INVITATION_DAYS = 7
MAX_INVITATION_DAYS = 30
CODE_BYTES = 24  # 192 bits: no throttle is needed against guessing
LISTED = 200
NOT_VALID = (
    "this invitation code is not valid: it may be mistyped, used already, revoked or expired; "
    "ask whoever invited you for a new one"
)


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8", "surrogatepass")).hexdigest()


class _Address(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: EmailStr


def _address(email: str) -> str:
    try:
        return _Address(email=email).email.lower()
    except ValidationError as exc:
        raise ValidationFailed(f"email: {exc.errors()[0]['msg']}") from exc


@dataclass(frozen=True)
class IssuedInvitation:
    """What the inviter is shown once: the code travels to the invitee by their own means."""

    invitation_id: int
    code: str
    email: str
    organisation_name: str
    role: Role
    expires_at: datetime


def invite(
    session: Session,
    by: Principal | Actor,
    email: str,
    organisation_id: int,
    role: Role | str,
    days: int = INVITATION_DAYS,
    now: datetime | None = None,
) -> IssuedInvitation:
    """Invite `email` into the organisation in `role`. An Actor is the operator at the command
    line, who already controls the host."""
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(f"role: unknown role {role!r}") from None
    if isinstance(by, Principal):
        require_may_give(by, organisation_id, role)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    require_held_in(role, organisation.kind)
    address = _address(email)
    if not 1 <= days <= MAX_INVITATION_DAYS:
        raise ValidationFailed(f"an invitation lasts 1 to {MAX_INVITATION_DAYS} days")
    now = now or utcnow()
    open_already = session.scalar(
        select(Invitation.id).where(
            Invitation.email == address,
            Invitation.organisation_id == organisation_id,
            Invitation.role == role,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    if open_already is not None:
        raise ValidationFailed(
            f"{address} has an open invitation to this organisation as "
            f"{role_name(role).lower()} already; revoke it to send a new one"
        )
    code = secrets.token_urlsafe(CODE_BYTES)
    row = Invitation(
        code_sha256=_digest(code),
        email=address,
        organisation_id=organisation_id,
        role=role,
        invited_by_user_id=by.user_id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    actor = actor_of(by) if isinstance(by, Principal) else by
    record(
        session,
        actor,
        "invitation.created",
        "invitation",
        row.id,
        {
            "email": address,
            "role": role.value,
            "organisation_id": organisation_id,
            "expires_at": row.expires_at.isoformat(),
        },
        organisation_id=organisation_id,
    )
    return IssuedInvitation(row.id, code, address, organisation.name, role, row.expires_at)


@dataclass(frozen=True)
class InvitationView:
    id: int
    email: str  # the invitee's address, or once accepted the account's
    organisation_id: int
    organisation_name: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    status: str  # open, accepted, revoked or expired


def _status(row: Invitation, now: datetime) -> str:
    if row.accepted_at is not None:
        return "accepted"
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "open"


def list_invitations(
    session: Session, principal: Principal, now: datetime | None = None
) -> list[InvitationView]:
    """The newest invitations into organisations the principal administers."""
    now = now or utcnow()
    scope = visible_organisations(principal, USER_MANAGE)
    inviter, invitee = aliased(User), aliased(User)
    query = (
        select(Invitation, Organisation.name, inviter.email, invitee.email)
        .join(Organisation, Organisation.id == Invitation.organisation_id)
        .outerjoin(inviter, inviter.id == Invitation.invited_by_user_id)
        .outerjoin(invitee, invitee.id == Invitation.accepted_user_id)
        .order_by(Invitation.id.desc())
        .limit(LISTED)
    )
    if scope is not None:
        query = query.where(Invitation.organisation_id.in_(scope))
    rows = session.execute(query).all()
    colleagues = _colleagues(session, scope, {row.invited_by_user_id for row, *_ in rows})
    return [
        InvitationView(
            id=row.id,
            email=row.email or accepted_by or "(account since erased)",
            organisation_id=row.organisation_id,
            organisation_name=organisation_name,
            role=Role(row.role),
            invited_by=_inviter_shown(row.invited_by_user_id, invited_by, scope, colleagues),
            created_at=row.created_at,
            expires_at=row.expires_at,
            accepted_at=row.accepted_at,
            revoked_at=row.revoked_at,
            status=_status(row, now),
        )
        for row, organisation_name, invited_by, accepted_by in rows
    ]


def _colleagues(session: Session, scope: set[int] | None, user_ids: set[int | None]) -> set[int]:
    """Of `user_ids`, those who belong to an organisation in `scope` (everyone when None)."""
    known = {user_id for user_id in user_ids if user_id is not None}
    if scope is None or not known:
        return known
    return set(
        session.scalars(
            select(Membership.user_id).where(
                Membership.user_id.in_(known), Membership.organisation_id.in_(scope)
            )
        )
    )


def _inviter_shown(
    inviter_id: int | None, email: str | None, scope: set[int] | None, colleagues: set[int]
) -> str:
    """The inviter's address to their colleagues and the platform's administrators; to an
    organisation's administrator, an inviter outside their organisations is only that."""
    if inviter_id is None or email is None:
        return "the command line" if inviter_id is None else "(account since erased)"
    if scope is None or inviter_id in colleagues:
        return email
    return "someone outside your organisation"


def revoke_invitation(
    session: Session, by: Principal | Actor, invitation_id: int, now: datetime | None = None
) -> None:
    row = session.get(Invitation, invitation_id)
    if row is None:
        raise NotFound("invitation not found")
    if isinstance(by, Principal):
        require(by, USER_MANAGE, row.organisation_id, "invitation")
    now = now or utcnow()
    revoked = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not revoked:
        raise ValidationFailed("this invitation was accepted or revoked already")
    actor = actor_of(by) if isinstance(by, Principal) else by
    record(
        session,
        actor,
        "invitation.revoked",
        "invitation",
        invitation_id,
        organisation_id=row.organisation_id,
    )


@dataclass(frozen=True)
class PreparedAcceptance:
    """A checked code with the new account's details, its password already hashed, so the
    slow hash is done before the transaction that redeems the code."""

    code_sha256: str
    email: str
    display_name: str
    password_hash: str


def _open_invitation(session: Session, digest: str, now: datetime) -> Invitation | None:
    return session.scalar(
        select(Invitation).where(
            Invitation.code_sha256 == digest,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )


def _exists_already(email: str) -> ValidationFailed:
    return ValidationFailed(
        f"an account for {email} exists already: sign in with it, then enter this code under "
        "Account security to join"
    )


def prepare_acceptance(
    session: Session, code: str, display_name: str, password: str, now: datetime | None = None
) -> PreparedAcceptance:
    """Check the code and the new account's name and password (the password policy of every
    account); nothing is written."""
    now = now or utcnow()
    if not code.strip() or len(code) > 128:
        raise ValidationFailed(NOT_VALID)
    digest = _digest(code)
    invitation = _open_invitation(session, digest, now)
    if invitation is None or invitation.email is None:
        raise ValidationFailed(NOT_VALID)
    email = invitation.email
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise _exists_already(email)
    account = validated_account(email, display_name, password)
    return PreparedAcceptance(
        digest, email, account.display_name, hash_password(account.password, email)
    )


def _redeem(
    session: Session, digest: str, email: str, user_id: int | None, now: datetime
) -> tuple[int, int, Role]:
    """Spend the code: one conditional update, which only one transaction can win. Returns
    the invitation's id, organisation and role."""
    values: dict[str, object] = {"accepted_at": now, "email": None}
    if user_id is not None:
        values["accepted_user_id"] = user_id
    won = session.execute(
        update(Invitation)
        .where(
            Invitation.code_sha256 == digest,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(**values)
        .returning(
            Invitation.id,
            Invitation.organisation_id,
            Invitation.role,
            Invitation.invited_by_user_id,
        )
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if won is None:
        raise ValidationFailed(NOT_VALID)
    invitation_id, organisation_id, role, inviter_id = won
    if not _inviter_may_still_give(session, inviter_id, organisation_id, Role(role)):
        raise ValidationFailed(NOT_VALID)  # raised in the transaction: the code stays unspent
    return invitation_id, organisation_id, Role(role)


def _inviter_may_still_give(
    session: Session, inviter_id: int | None, organisation_id: int, role: Role
) -> bool:
    """An invitation is only as good as its inviter's standing now: one made by an admin since
    disabled or stripped of the role is not honoured. None is the operator at the command line."""
    if inviter_id is None:
        return True
    inviter = session.get(User, inviter_id)
    if inviter is None or not inviter.is_active:
        return False
    try:
        require_may_give(principal_for(session, inviter), organisation_id, role)
    except PermissionDenied:
        return False
    return True


def accept_invitation(
    session: Session, prepared: PreparedAcceptance, now: datetime | None = None
) -> User:
    """Redeem the code for a new account holding the invited role. The redemption is the
    transaction's first write, so a second redemption waits for the first and then finds the
    code spent."""
    now = now or utcnow()
    invitation_id, organisation_id, role = _redeem(
        session, prepared.code_sha256, prepared.email, None, now
    )
    user = User(
        email=prepared.email,
        display_name=prepared.display_name,
        password_hash=prepared.password_hash,
        created_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # an account for the address was made a moment ago
        raise _exists_already(prepared.email) from None
    session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id)
        .values(accepted_user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    session.add(Membership(user_id=user.id, organisation_id=organisation_id, role=role))
    record(
        session,
        Actor(user.email, user.id),
        "invitation.accepted",
        "invitation",
        invitation_id,
        {"user_id": user.id, "role": role.value, "organisation_id": organisation_id},
        organisation_id=organisation_id,
    )
    return user


def join_with_invitation(
    session: Session, principal: Principal, code: str, now: datetime | None = None
) -> tuple[str, Role]:
    """Redeem, signed in, an invitation made out to the principal's own address: their account
    gains the invited role. Returns the organisation's name and the role."""
    now = now or utcnow()
    if not code.strip() or len(code) > 128:
        raise ValidationFailed(NOT_VALID)
    invitation_id, organisation_id, role = _redeem(
        session, _digest(code), principal.email.lower(), principal.user_id, now
    )
    held = session.scalar(
        select(Membership.id).where(
            Membership.user_id == principal.user_id,
            Membership.organisation_id == organisation_id,
            Membership.role == role,
        )
    )
    if held is None:
        session.add(
            Membership(user_id=principal.user_id, organisation_id=organisation_id, role=role)
        )
        bump_identity_epoch(session)
    record(
        session,
        actor_of(principal),
        "invitation.accepted",
        "invitation",
        invitation_id,
        {"user_id": principal.user_id, "role": role.value, "organisation_id": organisation_id},
        organisation_id=organisation_id,
    )
    organisation = session.get_one(Organisation, organisation_id)
    return organisation.name, role
