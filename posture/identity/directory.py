"""The organisations on the platform, for administrators: each with its kind and how many
people belong to it, and creating one (platform administrators only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.people import USER_MANAGE
from posture.identity.permissions import PermissionDenied, Principal, visible_organisations
from posture.storage.models import Membership, Organisation
from posture.storage.models.enums import OrgKind

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


@dataclass(frozen=True)
class OrganisationSummary:
    id: int
    slug: str
    name: str
    kind: OrgKind
    members: int
    created_at: datetime


def list_organisations(
    session: Session, principal: Principal, kind: OrgKind | None = None
) -> list[OrganisationSummary]:
    """The organisations whose people the principal administers, by name."""
    scope = visible_organisations(principal, USER_MANAGE)
    members = (
        select(Membership.organisation_id, func.count(func.distinct(Membership.user_id)).label("n"))
        .group_by(Membership.organisation_id)
        .subquery()
    )
    query = (
        select(Organisation, func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.organisation_id == Organisation.id)
        .order_by(Organisation.name, Organisation.id)
    )
    if scope is not None:
        query = query.where(Organisation.id.in_(scope))
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return [
        OrganisationSummary(org.id, org.slug, org.name, OrgKind(org.kind), int(n), org.created_at)
        for org, n in session.execute(query)
    ]


class NewOrganisation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    slug: str = Field(min_length=2, max_length=80, pattern=SLUG_PATTERN)
    kind: OrgKind

    @field_validator("kind")
    @classmethod
    def _not_a_second_platform(cls, kind: OrgKind) -> OrgKind:
        if kind == OrgKind.PLATFORM:
            raise ValueError(
                "there is one platform organisation; choose force, national body or supplier"
            )
        return kind


def _validated(name: str, slug: str, kind: str) -> NewOrganisation:
    try:
        return NewOrganisation(name=name, slug=slug, kind=kind)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = first["loc"][0] if first["loc"] else "organisation"
        message = first["msg"].removeprefix("Value error, ")
        if field == "slug" and first["type"] == "string_pattern_mismatch":
            message = "use lower-case letters and digits, with single hyphens between them"
        raise ValidationFailed(f"{field}: {message}") from exc


def create_organisation(
    session: Session, principal: Principal, name: str, slug: str, kind: str
) -> Organisation:
    if visible_organisations(principal, "organisation.create") is not None:
        raise PermissionDenied("your role does not allow: create an organisation")
    form = _validated(name, slug, kind)
    if session.scalar(select(Organisation.id).where(Organisation.slug == form.slug)):
        raise ValidationFailed(f"an organisation with the slug {form.slug!r} exists already")
    organisation = Organisation(name=form.name, slug=form.slug, kind=form.kind)
    session.add(organisation)
    try:
        session.flush()
    except IntegrityError:  # created by someone else a moment ago
        raise ValidationFailed(
            f"an organisation with the slug {form.slug!r} exists already"
        ) from None
    record(
        session,
        actor_of(principal),
        "organisation.created",
        "organisation",
        organisation.id,
        {"name": form.name, "slug": form.slug, "kind": form.kind.value},
        organisation_id=organisation.id,
    )
    return organisation
