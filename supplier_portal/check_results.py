"""Check runs and findings as their owners (and assessors) may see them."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible, within_reach
from posture.storage.models import CheckRun, Finding


def check_runs_query(
    principal: Principal, product_id: int | None = None
) -> Select[tuple[CheckRun]]:
    """The check runs the principal may see, newest first."""
    query = select(CheckRun).order_by(CheckRun.id.desc())
    query = within_reach(query, CheckRun.organisation_id, principal, "check.read")
    if product_id is not None:
        query = query.where(CheckRun.product_id == product_id)
    return query


def list_check_runs(
    session: Session, principal: Principal, product_id: int | None = None
) -> list[CheckRun]:
    return list(session.scalars(check_runs_query(principal, product_id)))


def get_check_run(
    session: Session, principal: Principal, run_id: int
) -> tuple[CheckRun, list[Finding]]:
    run = load_visible(session, CheckRun, run_id, principal, "check.read", "check run")
    findings = list(
        session.scalars(select(Finding).where(Finding.check_run_id == run_id).order_by(Finding.id))
    )
    return run, findings
