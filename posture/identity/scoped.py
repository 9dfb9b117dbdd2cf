"""Load one tenant record for the acting user, or refuse without revealing that it exists."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from posture.identity.permissions import NotFound, Principal, require, visible_organisations


class TenantRecord(Protocol):
    organisation_id: int


Record = TypeVar("Record", bound=TenantRecord)
Query = TypeVar("Query", bound=Select[Any])


def within_reach(
    query: Query, organisation: ColumnElement[Any], principal: Principal, permission: str
) -> Query:
    """`query` narrowed to the organisations whose records the principal may see under
    `permission`; PermissionDenied when no role grants it at all."""
    visible = visible_organisations(principal, permission)
    return query if visible is None else query.where(organisation.in_(visible))


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
