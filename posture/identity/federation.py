"""Federated sign-in (OIDC through Streamlit's st.login): map an identity provider's claims to an
organisation and roles, keep the user's memberships in step, and audit every change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.audit import Actor, record
from posture.errors import AssureError, ConfigError
from posture.identity.accounts import principal_for
from posture.identity.permissions import Principal
from posture.storage.models import Membership, Organisation, User
from posture.storage.models.enums import Role


class FederatedSignInRefused(AssureError):
    """The identity provider vouched for someone this platform cannot admit."""


class ClaimMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    issuer: str = Field(min_length=1)
    email_claim: str = "email"
    name_claim: str = "name"
    require_verified_email: bool = True
    organisation_claim: str = Field(min_length=1)
    roles_claim: str = Field(min_length=1)
    role_map: dict[str, Role] = Field(min_length=1)
    # Platform administration is never granted by an external claim unless this says so.
    allow_platform_admin: bool = False


def load_mapping(path: Path) -> ClaimMapping:
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
        return ClaimMapping.model_validate(document)
    except OSError as exc:
        raise ConfigError(f"cannot read OIDC mapping {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"OIDC mapping {path} is invalid: {exc}") from exc


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list):
        return [str(part) for part in value]
    return []


def provision(session: Session, claims: dict[str, Any], mapping: ClaimMapping) -> Principal:
    if claims.get("iss") != mapping.issuer:
        raise FederatedSignInRefused(
            "sign-in came from an identity provider this site does not trust"
        )
    email = str(claims.get(mapping.email_claim) or "").strip().lower()
    if "@" not in email:
        raise FederatedSignInRefused("the identity provider did not supply an email address")
    if mapping.require_verified_email and claims.get("email_verified") is not True:
        raise FederatedSignInRefused("the identity provider has not verified this email address")
    slug = str(claims.get(mapping.organisation_claim) or "")
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise FederatedSignInRefused("your organisation is not registered on this platform")
    roles = {
        mapping.role_map[g]
        for g in _as_list(claims.get(mapping.roles_claim))
        if g in mapping.role_map
    }
    if Role.PLATFORM_ADMIN in roles and not mapping.allow_platform_admin:
        roles.discard(Role.PLATFORM_ADMIN)
    if not roles:
        raise FederatedSignInRefused("your account has no PoliceTech Assure role")
    user = session.scalar(select(User).where(User.email == email))
    actor = Actor(label=f"oidc:{mapping.issuer}")
    if user is None:
        user = User(
            email=email,
            display_name=str(claims.get(mapping.name_claim) or email)[:200],
            password_hash=None,
        )
        session.add(user)
        session.flush()
        record(
            session,
            actor,
            "user.provisioned",
            "user",
            user.id,
            {"email": email},
            organisation_id=organisation.id,
        )
    current = {
        Role(m.role): m
        for m in session.scalars(
            select(Membership).where(
                Membership.user_id == user.id, Membership.organisation_id == organisation.id
            )
        )
    }
    for role in sorted(roles - current.keys()):
        session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=role))
        record(
            session,
            actor,
            "role.granted",
            "user",
            user.id,
            {"role": role.value},
            organisation_id=organisation.id,
        )
    for role in sorted(current.keys() - roles):
        session.delete(current[role])
        record(
            session,
            actor,
            "role.revoked",
            "user",
            user.id,
            {"role": role.value},
            organisation_id=organisation.id,
        )
    session.flush()
    record(
        session,
        Actor(label=email, user_id=user.id),
        "auth.login",
        "user",
        user.id,
        {"method": "oidc"},
    )
    return principal_for(session, user)
