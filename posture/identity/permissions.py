"""The permission table (data) and the one function every service uses to check it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from kernel.errors import AssureError
from posture.storage.models.enums import Role

Scope = Literal["own", "any"]


class PermissionDenied(AssureError):
    """The acting user's roles do not allow this action at all."""


class NotFound(AssureError):
    """The record does not exist or is not visible to the acting user (deliberately the same)."""


class PermissionRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    token_scope: str
    grants: dict[Role, Scope] = Field(min_length=1)


class PermissionTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    permissions: dict[str, PermissionRule]


@cache
def permission_table() -> PermissionTable:
    text = (resources.files("posture.identity") / "permissions.yaml").read_text("utf-8")
    return PermissionTable.model_validate(yaml.safe_load(text))


@dataclass(frozen=True)
class Membership:
    organisation_id: int
    role: Role


@dataclass(frozen=True)
class Principal:
    """The acting user as services see them; token principals also carry their scopes."""

    user_id: int
    email: str
    memberships: tuple[Membership, ...]
    token_scopes: frozenset[str] | None = field(default=None)

    @property
    def label(self) -> str:
        return self.email

    def roles(self) -> set[Role]:
        return {m.role for m in self.memberships}

    def organisation_ids(self) -> set[int]:
        return {m.organisation_id for m in self.memberships}


def _rule(permission: str) -> PermissionRule:
    try:
        return permission_table().permissions[permission]
    except KeyError:
        raise KeyError(f"unknown permission {permission!r}") from None


def _token_allows(principal: Principal, rule: PermissionRule) -> bool:
    return principal.token_scopes is None or rule.token_scope in principal.token_scopes


def visible_organisations(principal: Principal, permission: str) -> set[int] | None:
    """Organisations whose records the principal may touch; None means every organisation.

    Raises PermissionDenied when no role grants the permission at all.
    """
    rule = _rule(permission)
    if not _token_allows(principal, rule):
        raise PermissionDenied(f"this token lacks the {rule.token_scope!r} scope")
    own: set[int] = set()
    granted = False
    for membership in principal.memberships:
        scope = rule.grants.get(membership.role)
        if scope == "any":
            return None
        if scope == "own":
            granted = True
            own.add(membership.organisation_id)
    if not granted:
        raise PermissionDenied(f"your role does not allow: {rule.description.lower()}")
    return own


def allowed(principal: Principal, permission: str, organisation_id: int) -> bool:
    """Whether the principal may act on a record of this organisation (no exception)."""
    try:
        scope = visible_organisations(principal, permission)
    except PermissionDenied:
        return False
    return scope is None or organisation_id in scope


def holds(principal: Principal, permission: str) -> bool:
    """Whether any of the principal's roles grants the permission at all (no exception)."""
    try:
        visible_organisations(principal, permission)
    except PermissionDenied:
        return False
    return True


def require(
    principal: Principal, permission: str, organisation_id: int, what: str = "record"
) -> None:
    """Refuse with NotFound when the object is outside the principal's reach, so that a
    refusal never tells a user that another tenant's record exists."""
    scope = visible_organisations(principal, permission)
    if scope is not None and organisation_id not in scope:
        raise NotFound(f"{what} not found")
