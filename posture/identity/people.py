"""People for administrators: who is in an organisation, with their roles and sign-in state;
disabling and re-enabling accounts; giving and taking roles from the administration page.

An organisation administrator sees the members of their own organisation, and only those
memberships. A change to a whole account (disabling it, its API tokens) reaches across every
organisation the person belongs to, so it needs the administrator's reach over all of them: a
supplier's administrator cannot disable someone who also works for another supplier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import (
    actor_of,
    grant_role,
    is_last_active_admin,
    lock_admins,
    revoke_role,
)
from posture.identity.permissions import (
    NotFound,
    PermissionDenied,
    Principal,
    require,
    visible_organisations,
)
from posture.identity.roles import require_held_in
from posture.identity.sessions import revoke_all_sessions
from posture.identity.token_cache import bump_identity_epoch
from posture.storage.models import (
    ApiToken,
    AuditEvent,
    MfaFactor,
    Organisation,
    PasskeyCredential,
    User,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import SUPPLIER_ROLES, OrgKind, Role

USER_MANAGE = "user.manage"
PAGE_LIMIT = 200
Status = Literal["all", "active", "disabled"]


@dataclass(frozen=True)
class HeldRole:
    organisation_id: int
    organisation_name: str
    organisation_kind: OrgKind
    role: Role


@dataclass(frozen=True)
class Person:
    user_id: int
    email: str
    display_name: str
    is_active: bool
    has_app: bool  # an authenticator app (TOTP)
    passkeys: int
    last_login_at: datetime | None
    locked_until: datetime | None
    created_at: datetime
    roles: tuple[HeldRole, ...]  # only those in organisations the viewer may see

    @property
    def second_factor(self) -> str:
        kinds = ["authenticator app"] if self.has_app else []
        if self.passkeys:
            kinds.append("security key" if self.passkeys == 1 else f"{self.passkeys} security keys")
        return " and ".join(kinds) or "none"


@dataclass(frozen=True)
class PeoplePage:
    people: list[Person]
    total: int


def _in_scope(scope: set[int] | None):  # type: ignore[no-untyped-def]
    """Users with a membership in one of `scope`'s organisations (None: every user)."""
    if scope is None:
        return None
    return User.id.in_(
        select(MembershipRow.user_id).where(MembershipRow.organisation_id.in_(scope))
    )


def list_people(
    session: Session,
    principal: Principal,
    search: str = "",
    organisation_id: int | None = None,
    status: Status = "all",
    limit: int = 50,
    offset: int = 0,
) -> PeoplePage:
    """People the principal administers, by e-mail address, a page at a time; `search` matches
    part of an address or a name."""
    scope = visible_organisations(principal, USER_MANAGE)
    conditions = []
    reach = _in_scope(scope)
    if reach is not None:
        conditions.append(reach)
    if organisation_id is not None:
        require(principal, USER_MANAGE, organisation_id, "organisation")
        conditions.append(
            User.id.in_(
                select(MembershipRow.user_id).where(
                    MembershipRow.organisation_id == organisation_id
                )
            )
        )
    term = search.strip().lower()[:254]
    if term:
        conditions.append(
            or_(
                func.lower(User.email).contains(term, autoescape=True),
                func.lower(User.display_name).contains(term, autoescape=True),
            )
        )
    if status != "all":
        conditions.append(User.is_active.is_(status == "active"))
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    users = list(
        session.scalars(
            select(User)
            .where(*conditions)
            .order_by(User.email)
            .limit(max(1, min(limit, PAGE_LIMIT)))
            .offset(max(0, offset))
        )
    )
    return PeoplePage(_people(session, users, scope), total)


def _people(session: Session, users: list[User], scope: set[int] | None) -> list[Person]:
    ids = [user.id for user in users]
    roles: dict[int, list[HeldRole]] = {user_id: [] for user_id in ids}
    query = (
        select(
            MembershipRow.user_id,
            Organisation.id,
            Organisation.name,
            Organisation.kind,
            MembershipRow.role,
        )
        .join(Organisation, Organisation.id == MembershipRow.organisation_id)
        .where(MembershipRow.user_id.in_(ids))
        .order_by(Organisation.name, MembershipRow.role)
    )
    if scope is not None:
        query = query.where(MembershipRow.organisation_id.in_(scope))
    for user_id, org_id, name, kind, role in session.execute(query):
        roles[user_id].append(HeldRole(org_id, name, OrgKind(kind), Role(role)))
    apps = set(session.scalars(select(MfaFactor.user_id).where(MfaFactor.user_id.in_(ids))))
    keys: dict[int, int] = {
        user_id: count
        for user_id, count in session.execute(
            select(PasskeyCredential.user_id, func.count())
            .where(PasskeyCredential.user_id.in_(ids))
            .group_by(PasskeyCredential.user_id)
        )
    }
    return [
        Person(
            user_id=user.id,
            email=user.email,
            display_name=user.display_name,
            is_active=user.is_active,
            has_app=user.id in apps,
            passkeys=keys.get(user.id, 0),
            last_login_at=user.last_login_at,
            locked_until=user.locked_until,
            created_at=user.created_at,
            roles=tuple(roles[user.id]),
        )
        for user in users
    ]


def person_in_view(session: Session, principal: Principal, user_id: int) -> User:
    """A user the principal may see: a member of an organisation in their reach. Anyone else
    is not found, worded as for an id that does not exist."""
    scope = visible_organisations(principal, USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    if scope is not None and not _organisations_of(session, user_id) & scope:
        raise NotFound("user not found")
    return user


def _organisations_of(session: Session, user_id: int) -> set[int]:
    return set(
        session.scalars(
            select(MembershipRow.organisation_id).where(MembershipRow.user_id == user_id)
        )
    )


def account_in_reach(
    session: Session, principal: Principal, user_id: int, permission: str = USER_MANAGE
) -> User:
    """A user whose whole account the principal may act on: every organisation they belong to
    is in the principal's reach for `permission`. Someone with no organisation at all is the
    platform administrators' alone."""
    scope = visible_organisations(principal, permission)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    if scope is None:
        return user
    organisations = _organisations_of(session, user_id)
    if not organisations or not organisations <= scope:
        raise NotFound("user not found")
    return user


def account_by_email(
    session: Session, principal: Principal, email: str, permission: str = USER_MANAGE
) -> User:
    """account_in_reach, for an address typed by the administrator."""
    user_id = session.scalar(select(User.id).where(User.email == email.strip().lower()[:254]))
    if user_id is None:
        raise NotFound(f"no account in your reach has the address {email.strip()[:254]}")
    try:
        return account_in_reach(session, principal, user_id, permission)
    except NotFound:
        raise NotFound(f"no account in your reach has the address {email.strip()[:254]}") from None


def _home_organisation(session: Session, user_id: int) -> int | None:
    organisations = _organisations_of(session, user_id)
    return next(iter(organisations)) if len(organisations) == 1 else None


def set_active(session: Session, principal: Principal, user_id: int, active: bool) -> bool:
    """Disable or re-enable an account; False when it already was so. Disabling ends the
    person's sessions and revokes their unexpired API tokens at once (a verified token is
    forgotten by every API process through the identity epoch)."""
    user = account_in_reach(session, principal, user_id)
    if not active and user.id == principal.user_id:
        raise ValidationFailed("you cannot disable your own account; ask another administrator")
    # The administrators' locks (the audit's first): two administrators disabling each other
    # at once must not leave the platform, or an organisation, with none.
    lock_admins(session)
    session.refresh(user)
    _still_active(session, principal)
    if user.is_active == active:
        return False
    actor = actor_of(principal)
    organisation_id = _home_organisation(session, user.id)
    if active:
        if visible_organisations(principal, USER_MANAGE) is not None and _disabled_by_platform(
            session, user.id
        ):
            raise PermissionDenied(
                "the platform's administrators disabled this account; only they can enable it again"
            )
        user.is_active = True
        record(session, actor, "user.enabled", "user", user.id, organisation_id=organisation_id)
        return True
    admin = session.scalar(
        select(MembershipRow.id).where(
            MembershipRow.user_id == user.id, MembershipRow.role == Role.PLATFORM_ADMIN
        )
    )
    if admin is not None and is_last_active_admin(session, user.id):
        raise ValidationFailed(
            "this is the last active platform administrator; make another one before "
            "disabling this one"
        )
    user.is_active = False
    now = utcnow()
    ended = revoke_all_sessions(session, actor, user.id)
    revoked = session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    bump_identity_epoch(session)
    record(
        session,
        actor,
        "user.disabled",
        "user",
        user.id,
        {"sessions_ended": ended, "tokens_revoked": int(revoked or 0)},
        organisation_id=organisation_id,
    )
    return True


def _disabled_by_platform(session: Session, user_id: int) -> bool:
    """Whether the account was last disabled by a platform administrator or the operator (the
    CLI): an organisation's administrator must not undo the platform's decision."""
    last = session.execute(
        select(AuditEvent.actor_user_id)
        .where(
            AuditEvent.action == "user.disabled",
            AuditEvent.object_type == "user",
            AuditEvent.object_id == str(user_id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return False
    (actor_id,) = last
    if actor_id is None:
        return True
    return (
        session.scalar(
            select(MembershipRow.id)
            .where(MembershipRow.user_id == actor_id, MembershipRow.role == Role.PLATFORM_ADMIN)
            .limit(1)
        )
        is not None
    )


def _organisation(session: Session, principal: Principal, organisation_id: int) -> Organisation:
    require(principal, USER_MANAGE, organisation_id, "organisation")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    return organisation


def require_may_give(principal: Principal, organisation_id: int, role: Role) -> None:
    """Who may give which role, as accounts.grant_role decides it (checked here first, so a
    refusal comes before any question about the role's fit): platform administrators any
    role, an organisation's administrators its supplier roles."""
    require(principal, USER_MANAGE, organisation_id, "organisation")
    require(principal, "membership.manage", organisation_id, "organisation")
    if Role.PLATFORM_ADMIN not in principal.roles() and role not in SUPPLIER_ROLES:
        raise PermissionDenied("supplier administrators can only give supplier roles")


def give_role(
    session: Session, principal: Principal, user_id: int, organisation_id: int, role: Role
) -> bool:
    """Give someone the principal can see a role in an organisation the principal administers;
    False when already held. New people come in by invitation: a supplier's administrator
    cannot pull in another tenant's user."""
    require_may_give(principal, organisation_id, role)
    organisation = _organisation(session, principal, organisation_id)
    person_in_view(session, principal, user_id)
    require_held_in(role, organisation.kind)
    return grant_role(session, principal, user_id, organisation_id, role)


def take_role(
    session: Session, principal: Principal, user_id: int, organisation_id: int, role: Role
) -> None:
    """Take a role away (accounts.revoke_role keeps the last active platform administrator;
    an organisation's administrator cannot leave it without one)."""
    _organisation(session, principal, organisation_id)
    person_in_view(session, principal, user_id)
    if role == Role.SUPPLIER_ADMIN and Role.PLATFORM_ADMIN not in principal.roles():
        lock_admins(session)
        _still_active(session, principal)
        others = session.scalar(
            select(func.count())
            .select_from(MembershipRow)
            .join(User, User.id == MembershipRow.user_id)
            .where(
                MembershipRow.organisation_id == organisation_id,
                MembershipRow.role == Role.SUPPLIER_ADMIN,
                MembershipRow.user_id != user_id,
                User.is_active.is_(True),
            )
        )
        if not others:
            raise ValidationFailed(
                "this is the organisation's last active administrator; make another one first "
                "(or ask the platform administrator)"
            )
    revoke_role(session, principal, user_id, organisation_id, role)


def _still_active(session: Session, principal: Principal) -> None:
    """Read under the administrators' lock: an administrator disabled a moment ago by another
    (whose change committed first) no longer acts, so two cannot disable each other."""
    me = session.get(User, principal.user_id)
    if me is not None:
        session.refresh(me)
    if me is None or not me.is_active:
        raise PermissionDenied("your account has been disabled")
