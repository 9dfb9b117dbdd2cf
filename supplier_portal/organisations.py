"""Organisation profiles: what buyers and assessors see about a supplier or force."""

from __future__ import annotations

from pydantic import EmailStr, Field, HttpUrl
from sqlalchemy.orm import Session

from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.storage.models import Organisation
from supplier_portal.forms import FormModel


class ProfileForm(FormModel):
    description: str = Field(default="", max_length=5000)
    website: HttpUrl | None = None
    security_contact: EmailStr | None = None


def get_profile(session: Session, principal: Principal, organisation_id: int) -> Organisation:
    require(principal, "organisation.read", organisation_id, "organisation")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    return organisation


def update_profile(
    session: Session, principal: Principal, organisation_id: int, form: ProfileForm
) -> Organisation:
    require(principal, "organisation.manage", organisation_id, "organisation")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    organisation.description = form.description
    organisation.website = str(form.website) if form.website else None
    organisation.security_contact = str(form.security_contact) if form.security_contact else None
    record(
        session,
        actor_of(principal),
        "organisation.profile_updated",
        "organisation",
        organisation.id,
        form.model_dump(mode="json"),
        organisation_id=organisation.id,
    )
    return organisation
