"""Federated sign-in (OIDC through Streamlit's st.login): pick the identity provider by issuer,
admit someone only into an organisation that provider is bound to, keep their memberships in step
with the claims, read whether the provider asserted multi-factor authentication, and audit every
sign-in, change and refusal.

The mapping file and its validation live in `federation_mapping`; this module makes the decision.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.errors import AssureError
from posture.audit import Actor, hold_append_lock, record
from posture.identity.accounts import PLATFORM_SLUG, is_last_active_admin, principal_for
from posture.identity.federation_mapping import (
    FederationMapping,
    IdentityProvider,
    MfaMapping,
    load_mapping,
)
from posture.identity.permissions import Principal
from posture.identity.token_cache import bump_identity_epoch
from posture.storage.dialects import upsert_insert
from posture.storage.models import Membership, Organisation, User
from posture.storage.models.enums import Role

__all__ = [
    "FederatedSignIn",
    "FederatedSignInRefused",
    "FederationMapping",
    "IdentityProvider",
    "MfaMapping",
    "load_mapping",
    "provision",
]

# Claims come from a token another organisation issues: only these sizes are read at all.
MAX_EMAIL_CHARS = 254  # users.email
MAX_NAME_CHARS = 200  # users.display_name
MAX_ROLE_CLAIM_CHARS = 64 * 1024
MAX_ROLE_VALUES = 1000
MAX_AMR_VALUES = 32
MAX_AMR_CHARS = 64
MAX_ACR_CHARS = 256
# How much of a refused claim the audit trail keeps (escaped, so bidi and control characters
# cannot disguise what was claimed).
MAX_EVIDENCE_CHARS = 200

NOT_BOUND = (
    "your identity provider may not sign you in to the organisation it named; ask your "
    "organisation's administrator which sign-in to use"
)


class FederatedSignInRefused(AssureError):
    """The identity provider vouched for someone this platform cannot admit.

    `reason` is a stable code (also in the audit event): unknown_issuer, provider_mismatch,
    no_email, email_unverified, organisation_missing, organisation_not_bound, no_role,
    organisation_not_registered, account_inactive, account_outside_provider.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FederatedSignIn:
    """Who signed in, through which provider, and whether that provider asserted MFA."""

    principal: Principal
    provider: str
    mfa_asserted: bool
    amr: tuple[str, ...]
    acr: str | None


def provision(
    session: Session, claims: Mapping[str, Any], mapping: FederationMapping
) -> FederatedSignIn:
    """Admit the person these (already verified) ID-token claims describe, or refuse them.

    The provider is the one whose issuer equals `iss`; it may only sign people into the
    organisations it is bound to. On success the user is created if new, their roles in that
    organisation are set to exactly the mapped roles, and "auth.identity_provider_verified" is
    recorded.

    Every refusal is recorded as an "auth.federated_refused" audit event in `session` *before*
    FederatedSignInRefused is raised, so a caller that commits on failure (as the password
    sign-in does) keeps the evidence; a caller that rolls back loses it.

    Provisioning runs under the lock that orders audit appends (it always appends one), and a
    user or membership someone else inserted first is skipped, not an error (ON CONFLICT DO
    NOTHING): concurrent first sign-ins of one person make one user and one set of memberships.
    """
    _serialise(session)
    if not isinstance(claims, Mapping):
        claims = {}
    issuer = claims.get("iss")
    provider = mapping.by_issuer(issuer) if isinstance(issuer, str) else None
    refusal = _Refusal(session, provider, issuer)
    if provider is None:
        raise refusal(
            "unknown_issuer", "sign-in came from an identity provider this site does not trust"
        )
    # Streamlit adds the [auth.NAME] section the person signed in through; its issuer must be
    # this provider's, or one provider's secrets would be answering for another's mapping.
    if "provider" in claims and claims["provider"] != provider.name:
        raise refusal(
            "provider_mismatch",
            "the identity provider's issuer does not match the sign-in used; ask the platform "
            "administrator to check the OIDC configuration",
            signed_in_through=claims["provider"],
        )
    email = _email(claims.get(provider.email_claim))
    if email is None:
        raise refusal("no_email", "the identity provider did not supply a usable email address")
    refusal.email = email
    if provider.require_verified_email and claims.get("email_verified") is not True:
        raise refusal(
            "email_unverified", "the identity provider has not verified this email address"
        )
    slug = _organisation_slug(provider, claims, refusal)
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    roles = _roles(provider, claims.get(provider.roles_claim), slug)
    if not roles:
        raise refusal(
            "no_role", "your account has no PoliceTech Assure role", organisation_claimed=slug
        )
    if organisation is None:
        raise refusal(
            "organisation_not_registered",
            "the organisation your identity provider signs people in to is not registered on "
            "this platform yet; ask the platform administrator",
            organisation_claimed=slug,
        )
    actor = Actor(label=f"oidc:{provider.name}")
    user = _user(session, actor, email, claims.get(provider.name_claim), organisation.id)
    _admit(session, refusal, provider, user)
    _sync_roles(session, actor, user, organisation.id, roles)
    amr, acr = _amr(claims.get("amr")), _acr(claims.get("acr"))
    mfa_asserted = provider.mfa.asserted(amr, acr)
    # The provider vouched for the first factor only; "auth.login" is recorded when the session
    # opens, after any second step this sign-in still owes.
    record(
        session,
        Actor(label=email, user_id=user.id),
        "auth.identity_provider_verified",
        "user",
        user.id,
        {
            "method": "oidc",
            "provider": provider.name,
            "mfa_asserted": mfa_asserted,
            "amr": list(amr),
            "acr": acr,
        },
        organisation_id=organisation.id,
    )
    return FederatedSignIn(principal_for(session, user), provider.name, mfa_asserted, amr, acr)


def _serialise(session: Session) -> None:
    # Take the audit lock first (provisioning always appends an event, so it would take it
    # anyway): one lock order for every sign-in, and the user is looked up only once no other
    # sign-in can be half-way through creating them.
    hold_append_lock(session)


class _Refusal:
    """Records a refused sign-in in the audit trail and builds the error to raise."""

    def __init__(self, session: Session, provider: IdentityProvider | None, issuer: Any) -> None:
        self.session = session
        self.provider = provider
        self.issuer = issuer
        self.email: str | None = None

    def __call__(self, reason: str, message: str, **evidence: Any) -> FederatedSignInRefused:
        name = self.provider.name if self.provider else None
        data: dict[str, Any] = {
            "reason": reason,
            "issuer": _evidence(self.issuer),
            "provider": name,
            "email": self.email,
        }
        data.update({key: _evidence(value) for key, value in evidence.items()})
        record(
            self.session,
            Actor(label=f"oidc:{name or 'unknown issuer'}"),
            "auth.federated_refused",
            "user",
            "-",
            data,
            organisation_id=None,
        )
        return FederatedSignInRefused(message, reason)


def _evidence(value: Any) -> str | None:
    """A refused claim as the audit trail keeps it: bounded, and escaped to printable ASCII."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    shown = json.dumps(value[:MAX_EVIDENCE_CHARS], ensure_ascii=True)[1:-1]
    if len(value) > MAX_EVIDENCE_CHARS:
        shown += f" [{len(value) - MAX_EVIDENCE_CHARS} more characters]"
    return shown


def _email(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_EMAIL_CHARS:
        return None
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and domain) or "@" in domain:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in email):
        return None
    return email


def _organisation_slug(
    provider: IdentityProvider, claims: Mapping[str, Any], refusal: _Refusal
) -> str:
    if provider.organisation_claim is None:
        return provider.organisations[0]
    claimed = claims.get(provider.organisation_claim)
    if claimed is None or claimed == "":
        raise refusal(
            "organisation_missing",
            "the identity provider did not say which organisation to sign you in to",
        )
    # Compared with the provider's own list before any query, so the answer is the same
    # whether or not an organisation of that name exists.
    if not isinstance(claimed, str) or claimed not in provider.organisations:
        raise refusal("organisation_not_bound", NOT_BOUND, organisation_claimed=claimed)
    return claimed


def _claim_values(value: Any) -> list[str]:
    if isinstance(value, str):
        if len(value) > MAX_ROLE_CLAIM_CHARS:
            return []
        return value.replace(",", " ").split()[:MAX_ROLE_VALUES]
    if isinstance(value, list):
        return [part for part in value[:MAX_ROLE_VALUES] if isinstance(part, str)]
    return []


def _roles(provider: IdentityProvider, value: Any, slug: str) -> set[Role]:
    roles = {provider.role_map[g] for g in _claim_values(value) if g in provider.role_map}
    # Platform administration comes only from a provider allowed to grant it, and only as a
    # membership of the platform organisation.
    if not (provider.allow_platform_admin and slug == PLATFORM_SLUG):
        roles.discard(Role.PLATFORM_ADMIN)
    return roles


def _amr(value: Any) -> tuple[str, ...]:
    """RFC 8176 says a JSON array of strings; anything else asserts nothing."""
    if not isinstance(value, list):
        return ()
    kept = [v for v in value if isinstance(v, str) and 0 < len(v) <= MAX_AMR_CHARS]
    return tuple(dict.fromkeys(kept))[:MAX_AMR_VALUES]


def _acr(value: Any) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ACR_CHARS:
        return None
    return value


def _display_name(value: Any, email: str) -> str:
    if not isinstance(value, str):
        return email[:MAX_NAME_CHARS]
    # Control and format characters (bidi overrides among them) have no place in a name.
    cleaned = "".join(
        ch for ch in value[: MAX_NAME_CHARS * 4] if unicodedata.category(ch)[0] != "C"
    )
    return " ".join(cleaned.split())[:MAX_NAME_CHARS] or email[:MAX_NAME_CHARS]


def _insert_if_absent(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True if a row was added. A conflict (someone else
    added it first, e.g. an administrator) is not an error and leaves the transaction usable."""
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT that did nothing.
    statement = (
        upsert_insert(session, model).values(**values).on_conflict_do_nothing().returning(model.id)
    )
    return session.execute(statement).first() is not None


def _user(
    session: Session, actor: Actor, email: str, name_claim: Any, organisation_id: int
) -> User:
    created = _insert_if_absent(
        session,
        User,
        {
            "email": email,
            "display_name": _display_name(name_claim, email),
            "password_hash": None,
        },
    )
    user = session.scalars(select(User).where(User.email == email)).one()
    if created:
        record(
            session,
            actor,
            "user.provisioned",
            "user",
            user.id,
            {"email": email},
            organisation_id=organisation_id,
        )
    return user


def _admit(session: Session, refusal: _Refusal, provider: IdentityProvider, user: User) -> None:
    """An existing account is only the provider's to sign in if it lies within its reach."""
    if not user.is_active:
        raise refusal("account_inactive", "this account has been deactivated on this platform")
    belongs = session.scalar(select(Membership.id).where(Membership.user_id == user.id).limit(1))
    if user.password_hash is not None and belongs is None:
        # A password account in no organisation is not the provider's to take over: whoever
        # redeemed an invitation to this address chose its password, and a supplier admin may
        # invite any address, then take the role away and wait for the real person's first sign-in.
        raise refusal(
            "account_unclaimed",
            "an account with a password and no organisation exists for this address; ask the "
            "platform administrator to check it",
        )
    outside = session.scalar(
        select(Membership.id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user.id, Organisation.slug.not_in(provider.organisations))
        .limit(1)
    )
    if outside is not None:
        # Otherwise an identity provider could vouch for anyone's email address and inherit
        # their roles elsewhere (a supplier's IdP naming a force assessor, say).
        raise refusal(
            "account_outside_provider",
            "this account belongs to an organisation your identity provider does not sign "
            "people in to; sign in the way that organisation uses",
        )


def _sync_roles(
    session: Session, actor: Actor, user: User, organisation_id: int, roles: set[Role]
) -> None:
    held = {
        Role(role)
        for role in session.scalars(
            select(Membership.role).where(
                Membership.user_id == user.id, Membership.organisation_id == organisation_id
            )
        )
    }
    for role in sorted(roles - held):
        added = _insert_if_absent(
            session,
            Membership,
            {"user_id": user.id, "organisation_id": organisation_id, "role": role},
        )
        if added:
            bump_identity_epoch(session)
            _role_event(session, actor, "role.granted", user, organisation_id, role)
    for role in sorted(held - roles):
        if role == Role.PLATFORM_ADMIN and is_last_active_admin(session, user.id):
            # The provider stopped vouching for the only administrator: keep the role rather
            # than leave the platform with none, and say so in the trail.
            _role_event(session, actor, "role.revoke_refused", user, organisation_id, role)
            continue
        removed = session.execute(
            delete(Membership)
            .where(
                Membership.user_id == user.id,
                Membership.organisation_id == organisation_id,
                Membership.role == role,
            )
            .returning(Membership.id)
        ).first()
        if removed is not None:
            bump_identity_epoch(session)
            _role_event(session, actor, "role.revoked", user, organisation_id, role)


def _role_event(
    session: Session, actor: Actor, action: str, user: User, organisation_id: int, role: Role
) -> None:
    record(
        session,
        actor,
        action,
        "user",
        user.id,
        {"role": role.value, "organisation_id": organisation_id},
        organisation_id=organisation_id,
    )
