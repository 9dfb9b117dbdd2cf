"""Suspend or revoke a passport the moment what it states stops holding: monitoring contradicts
a check it cites (the policy's alert codes, from a run of the same kind of check), a critical
finding opens on the product, or an exception it states as in force expires."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.findings import Severity
from posture.audit import SYSTEM, Actor
from posture.passport.document import PassportBody
from posture.passport.policy import passport_policy
from posture.passport.status import LIVE, change_status
from posture.storage.models import Alert, CheckRun, Finding, OutcomeException, Passport
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


def after_check_run(
    session: Session, run: CheckRun, alerts: Iterable[Alert] = (), actor: Actor = SYSTEM
) -> list[str]:
    """Numbers of the passports this run suspended. Call it with the run just recorded and the
    monitoring alerts it raised."""
    if run.product_id is None:
        return []
    passports = _live(session, run.product_id)
    if not passports:
        return []
    policy = passport_policy()
    contradicting = [a for a in alerts if a.code in policy.suspend_on_alerts]
    severities = {Severity(s).value for s in policy.suspend_on_severities}
    critical = session.scalars(
        select(Finding.code)
        .where(Finding.check_run_id == run.id, Finding.severity.in_(severities))
        .order_by(Finding.code)
    ).all()
    suspended = []
    for passport in passports:
        if passport.status != PassportStatus.ISSUED:
            continue
        cited = [r for r in _body(passport).check_runs if r.kind == run.kind]
        if contradicting and cited:
            reason = "contradicted"
            detail = {
                "alert": contradicting[0].code,
                "check_run_id": run.id,
                "cited_check_run_id": cited[0].id,
                "kind": run.kind,
            }
        elif critical:
            reason = "critical_finding"
            detail = {"finding": critical[0], "check_run_id": run.id, "kind": run.kind}
        else:
            continue
        if change_status(session, actor, passport, PassportStatus.SUSPENDED, reason, detail):
            suspended.append(passport.number)
    return suspended


def after_exceptions_expired(
    session: Session, exception_ids: Iterable[int], actor: Actor = SYSTEM
) -> list[str]:
    """Numbers of the passports revoked because an exception they state as in force ended."""
    revoked = []
    for exception in session.scalars(
        select(OutcomeException).where(OutcomeException.id.in_(list(exception_ids)))
    ):
        stated = (exception.framework_id, exception.outcome_id, exception.expires_on.isoformat())
        for passport in _live(session, exception.product_id):
            listed = {(e.framework, e.outcome, e.expires_on) for e in _body(passport).exceptions}
            if stated in listed and change_status(
                session,
                actor,
                passport,
                PassportStatus.REVOKED,
                "exception_expired",
                {"outcome": exception.outcome_id, "expired_on": stated[2]},
            ):
                revoked.append(passport.number)
    return revoked
