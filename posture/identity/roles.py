"""Roles in words and where each is held, as data (roles.yaml): what people read on the
administration page, and which role may be given in which kind of organisation."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel.errors import ValidationFailed
from posture.storage.models.enums import OrgKind, Role


class RoleDescription(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=60)
    about: str = Field(min_length=1, max_length=200)
    held_in: frozenset[OrgKind] = Field(min_length=1)


class RoleBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    roles: dict[Role, RoleDescription]

    @model_validator(mode="after")
    def _every_role(self) -> RoleBook:
        missing = set(Role) - set(self.roles)
        if missing:
            raise ValueError(f"roles.yaml does not describe {sorted(missing)}")
        return self


@cache
def role_book() -> RoleBook:
    text = (resources.files("posture.identity") / "roles.yaml").read_text("utf-8")
    return RoleBook.model_validate(yaml.safe_load(text))


def role_name(role: Role | str) -> str:
    """The role as people call it ("Challenge judge"); an unknown value is shown as stored."""
    try:
        return role_book().roles[Role(role)].name
    except ValueError:
        return str(role)


def roles_held_in(kind: OrgKind | str) -> list[Role]:
    """The roles an organisation of this kind can hold, in the enum's order."""
    book = role_book().roles
    return [role for role in Role if OrgKind(kind) in book[role].held_in]


def require_held_in(role: Role, kind: OrgKind | str) -> None:
    if role not in roles_held_in(kind):
        held_in = role_book().roles[role].held_in
        places = " or ".join(sorted(kind.value.replace("_", " ") for kind in held_in))
        raise ValidationFailed(
            f"a {role_name(role).lower()} belongs in a {places} organisation, "
            f"not a {OrgKind(kind).value.replace('_', ' ')}"
        )


def kind_name(kind: OrgKind | str) -> str:
    """An organisation's kind as people say it ("National body")."""
    return OrgKind(kind).value.replace("_", " ").capitalize()
