"""Suspend or revoke a passport the moment what it states stops holding: a new run contradicts a
run it cites (the change the policy's alert codes name, between runs of the same kind on the
same target), a critical finding opens on the product, or an exception it states as in force
expires or is revoked."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.findings import Severity
from checks.report import CheckReport
from posture.audit import SYSTEM, Actor
from posture.monitoring.changes import check_run_alerts
from posture.passport.document import PassportBody
from posture.passport.policy import passport_policy
from posture.passport.status import LIVE, StatusRefused, change_status
from posture.storage.models import CheckRun, Finding, OutcomeException, Passport
from posture.storage.models.enums import PassportStatus


def _live(session: Session, product_id: int) -> list[Passport]:
    return list(
        session.scalars(
            select(Passport)
            .where(Passport.product_id == product_id, Passport.status.in_(LIVE))
            .order_by(Passport.id)
        )
    )


def _body(passport: Passport) -> PassportBody:
    return PassportBody.model_validate(json.loads(passport.document)["passport"])


def _report(result: dict[str, Any] | None) -> CheckReport | None:
    try:
        return CheckReport.model_validate(result)
    except ValueError:
        return None


def _contradiction(
    session: Session, passport: Passport, run: CheckRun, now: CheckReport | None
) -> dict[str, Any] | None:
    """What shows the run contradicts a run the passport cites: a change between that run and
    this one (same kind, same target) that the policy's alerts name, compared as monitoring
    compares two runs of an endpoint, whichever way this run was recorded."""
    if now is None:
        return None
    codes = set(passport_policy().suspend_on_alerts)
    for cited in _body(passport).check_runs:
        if cited.kind != run.kind or cited.target != run.target or cited.id == run.id:
            continue
        before = _report(session.scalar(select(CheckRun.result).where(CheckRun.id == cited.id)))
        for draft in check_run_alerts(before, now):
            if draft.code in codes:
                return {
                    "alert": draft.code,
                    "check_run_id": run.id,
                    "cited_check_run_id": cited.id,
                    "kind": run.kind,
                }
    return None


def _suspend(
    session: Session, actor: Actor, passport: Passport, reason: str, detail: dict[str, Any]
) -> bool:
    """Suspend it; False when another decision moved it first (nothing more to do here, and the
    run that showed it is kept)."""
    try:
        return change_status(session, actor, passport, PassportStatus.SUSPENDED, reason, detail)
    except StatusRefused:
        return False


def after_check_run(session: Session, run: CheckRun, actor: Actor = SYSTEM) -> list[str]:
    """Numbers of the passports this run suspended. Call it with the run just recorded, in the
    transaction that records it."""
    if run.product_id is None:
        return []
    passports = [p for p in _live(session, run.product_id) if p.status == PassportStatus.ISSUED]
    if not passports:
        return []
    severities = {Severity(s).value for s in passport_policy().suspend_on_severities}
    critical = session.scalars(
        select(Finding.code)
        .where(Finding.check_run_id == run.id, Finding.severity.in_(severities))
        .order_by(Finding.code)
    ).all()
    now = _report(run.result)
    suspended = []
    for passport in passports:
        contradicted = _contradiction(session, passport, run, now)
        if contradicted is not None:
            reason, detail = "contradicted", contradicted
        elif critical:
            reason = "critical_finding"
            detail = {"finding": critical[0], "check_run_id": run.id, "kind": run.kind}
        else:
            continue
        if _suspend(session, actor, passport, reason, detail):
            suspended.append(passport.number)
    return suspended


def after_exceptions_ended(
    session: Session, exception_ids: Iterable[int], reason: str, actor: Actor = SYSTEM
) -> list[str]:
    """Numbers of the passports revoked because an exception they state as in force ended
    (`reason`: exception_expired, or exception_revoked when its SIRO ended it early)."""
    revoked = []
    for exception in session.scalars(
        select(OutcomeException).where(OutcomeException.id.in_(list(exception_ids)))
    ):
        stated = (exception.framework_id, exception.outcome_id, exception.expires_on.isoformat())
        for passport in _live(session, exception.product_id):
            listed = {(e.framework, e.outcome, e.expires_on) for e in _body(passport).exceptions}
            if stated not in listed:
                continue
            detail = {"outcome": exception.outcome_id, "expires_on": stated[2]}
            try:
                changed = change_status(
                    session, actor, passport, PassportStatus.REVOKED, reason, detail
                )
            except StatusRefused:
                continue  # revoked or superseded meanwhile
            if changed:
                revoked.append(passport.number)
    return revoked
