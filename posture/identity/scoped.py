"""Load one tenant record for the acting user, or refuse without revealing that it exists."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from posture.identity.permissions import NotFound, Principal, require, visible_organisations


class TenantRecord(Protocol):
    organisation_id: int


Record = TypeVar("Record", bound=TenantRecord)


def load_visible(
    session: Session,
    model: type[Record],
    record_id: int,
    principal: Principal,
    permission: str,
    what: str,
) -> Record:
    record = session.get(model, record_id)
    if record is None:
        # A role without the permission is told so whether or not the record exists.
        visible_organisations(principal, permission)
        raise NotFound(f"{what} not found")
    require(principal, permission, record.organisation_id, what)
    return record
