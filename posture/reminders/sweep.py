"""The daily expiry sweep: remind of what expires in 30, 7 and 1 days (the policy's thresholds)
and alert what has just expired, once per thing, expiry day and threshold.

Things that expire: certificates the newest completed TLS or certificate-file run of a product
saw, certifications a supplier records on a product, risk acceptances and outcome exceptions,
assurance passports (their expiry is the product's assessment falling due for renewal), and
accepted assessments with no passport in date, which fall due for renewal when a passport issued
on their acceptance would have expired (the passport policy's validity: one period, one place).
Each reminder is an alert, so it reaches the inbox, the deploying forces where the policy says,
and any e-mail or webhook its readers asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from posture.audit import SYSTEM, hold_append_lock
from posture.check_runs import FINISHED
from posture.monitoring.alerts import raise_decision_alert
from posture.passport.issue import add_months
from posture.passport.policy import passport_policy
from posture.portfolio.blast_radius import relay_to_deployers
from posture.reminders.policy import ReminderKind, ReminderPolicy, reminder_policy
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Evidence,
    ExpiryReminder,
    OutcomeException,
    Passport,
    Product,
    RiskAcceptance,
    RiskScenario,
)
from posture.storage.models.enums import AssessmentStatus, CheckKind, PassportStatus, RunStatus

# Expired things are alerted once if they expired this recently: the first sweep after an
# upgrade must not alert every certification that lapsed years ago.
EXPIRED_LOOK_BACK_DAYS = 30
CERTIFICATE_KINDS = (CheckKind.TLS.value, CheckKind.CERT.value)


@dataclass(frozen=True)
class Expiring:
    kind: ReminderKind
    subject_id: str
    organisation_id: int
    product_id: int | None
    expires_on: date
    detail: dict[str, Any]


@dataclass
class SweepReport:
    today: date
    considered: int = 0
    reminded: dict[str, int] = field(default_factory=dict)
    alerts: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "considered": self.considered,
            "reminded": dict(sorted(self.reminded.items())),
            "alerts": len(self.alerts),
        }


def _certificates(session: Session, start: date, end: date) -> Iterator[Expiring]:
    # The newest finished run of each endpoint or file (not of each kind, as scoring ranks
    # them): a product's every endpoint has a certificate of its own to renew.
    ranked = (
        select(
            CheckRun.id,
            func.row_number()
            .over(
                partition_by=(CheckRun.product_id, CheckRun.kind, CheckRun.target),
                order_by=(CheckRun.finished_at.desc(), CheckRun.id.desc()),
            )
            .label("rank"),
        )
        .where(
            CheckRun.product_id.is_not(None),
            CheckRun.kind.in_(CERTIFICATE_KINDS),
            CheckRun.status.in_(FINISHED),
        )
        .subquery()
    )
    newest = select(ranked.c.id).where(ranked.c.rank == 1)
    rows = session.execute(
        select(
            CheckRun.id,
            CheckRun.organisation_id,
            CheckRun.product_id,
            CheckRun.kind,
            CheckRun.target,
            CheckRun.certificate_not_after,
        ).where(
            CheckRun.id.in_(newest),
            CheckRun.status == RunStatus.SUCCEEDED,
            CheckRun.certificate_not_after >= _moment(start),
            CheckRun.certificate_not_after < _moment(end + timedelta(days=1)),
        )
    )
    for run_id, organisation_id, product_id, kind, target, not_after in rows:
        yield Expiring(
            "certificate",
            f"{product_id}:{kind}:{target}"[:200],
            organisation_id,
            product_id,
            not_after.date(),
            {"check_run_id": run_id, "kind": kind, "target": target[:300]},
        )


def _certifications(session: Session, start: date, end: date) -> Iterator[Expiring]:
    rows = session.execute(
        select(Product.id, Product.organisation_id, Product.certifications).where(
            Product.deleted_at.is_(None)
        )
    )
    for product_id, organisation_id, held in rows:
        for entry in held or ():
            try:
                expires = date.fromisoformat(str(entry["expires"]))
                scheme = str(entry["scheme"])[:64]
            except (KeyError, TypeError, ValueError):
                continue  # written by an older form; the product page shows it as it is
            if start <= expires <= end:
                yield Expiring(
                    "certification",
                    f"{product_id}:{scheme}",
                    organisation_id,
                    product_id,
                    expires,
                    {"scheme": scheme},
                )


def _evidence(session: Session, start: date, end: date) -> Iterator[Expiring]:
    rows = session.execute(
        select(
            Evidence.id, Evidence.organisation_id, Evidence.filename, Evidence.expires_on,
            Assessment.product_id, Evidence.assessment_id,
        )
        .outerjoin(Assessment, Assessment.id == Evidence.assessment_id)
        .where(Evidence.expires_on.between(start, end))
    )  # fmt: skip
    for evidence_id, organisation_id, filename, expires_on, product_id, assessment_id in rows:
        yield Expiring(
            "evidence",
            str(evidence_id),
            organisation_id,
            product_id,
            expires_on,
            {"evidence_id": evidence_id, "assessment_id": assessment_id, "filename": filename},
        )


def _risk_decisions(session: Session, start: date, end: date) -> Iterator[Expiring]:
    acceptances = session.execute(
        select(
            RiskAcceptance.id,
            RiskAcceptance.expires_on,
            RiskScenario.organisation_id,
            RiskScenario.product_id,
            RiskScenario.id,
        )
        .join(RiskScenario, RiskScenario.id == RiskAcceptance.scenario_id)
        .where(
            RiskAcceptance.revoked_at.is_(None),
            RiskAcceptance.expiry_alerted_at.is_(None),
            RiskAcceptance.expires_on.between(start, end),
        )
    )
    for acceptance_id, expires_on, organisation_id, product_id, scenario_id in acceptances:
        yield Expiring(
            "risk_acceptance",
            str(acceptance_id),
            organisation_id,
            product_id,
            expires_on,
            {"acceptance_id": acceptance_id, "scenario_id": scenario_id},
        )
    exceptions = session.execute(
        select(
            OutcomeException.id,
            OutcomeException.expires_on,
            OutcomeException.organisation_id,
            OutcomeException.product_id,
            OutcomeException.outcome_id,
        ).where(
            OutcomeException.revoked_at.is_(None),
            OutcomeException.expiry_alerted_at.is_(None),
            OutcomeException.expires_on.between(start, end),
        )
    )
    for exception_id, expires_on, organisation_id, product_id, outcome_id in exceptions:
        yield Expiring(
            "outcome_exception",
            str(exception_id),
            organisation_id,
            product_id,
            expires_on,
            {"exception_id": exception_id, "outcome_id": outcome_id},
        )


def _passports(session: Session, start: date, end: date) -> Iterator[Expiring]:
    rows = session.execute(
        select(
            Passport.id, Passport.number, Passport.organisation_id, Passport.product_id,
            Passport.expires_at,
        ).where(
            Passport.status == PassportStatus.ISSUED,
            Passport.expires_at >= _moment(start),
            Passport.expires_at < _moment(end + timedelta(days=1)),
        )
    )  # fmt: skip
    for passport_id, number, organisation_id, product_id, expires_at in rows:
        yield Expiring(
            "passport",
            str(passport_id),
            organisation_id,
            product_id,
            expires_at.date(),
            {"passport_id": passport_id, "number": number},
        )


def _assessments(session: Session, start: date, end: date) -> Iterator[Expiring]:
    # The newest accepted assessment of each product (or organisation, for its own): accepted
    # when its last answer was, due for renewal one passport validity later. A product whose
    # passport is in date is reminded of that passport instead.
    ranked = (
        select(
            Assessment.id,
            func.row_number()
            .over(
                partition_by=(Assessment.organisation_id, Assessment.product_id),
                order_by=Assessment.id.desc(),
            )
            .label("rank"),
        )
        .where(Assessment.status == AssessmentStatus.ACCEPTED)
        .subquery()
    )
    newest = select(ranked.c.id).where(ranked.c.rank == 1)
    passported = select(Passport.product_id).where(
        Passport.status == PassportStatus.ISSUED, Passport.expires_at >= _moment(start)
    )
    rows = session.execute(
        select(
            Assessment.id,
            Assessment.organisation_id,
            Assessment.product_id,
            Assessment.profile_id,
            func.max(Answer.reviewed_at),
        )
        .join(Answer, Answer.assessment_id == Assessment.id)
        .where(
            Assessment.id.in_(newest),
            or_(Assessment.product_id.is_(None), Assessment.product_id.not_in(passported)),
        )
        .group_by(
            Assessment.id, Assessment.organisation_id, Assessment.product_id, Assessment.profile_id
        )
    )
    months = passport_policy().validity_months
    for assessment_id, organisation_id, product_id, profile_id, accepted_at in rows:
        if accepted_at is None:
            continue  # accepted with no reviewed answer: nothing says when
        due = add_months(accepted_at, months).date()
        if start <= due <= end:
            yield Expiring(
                "assessment",
                str(assessment_id),
                organisation_id,
                product_id,
                due,
                {
                    "assessment_id": assessment_id,
                    "profile_id": profile_id,
                    "accepted_on": accepted_at.date().isoformat(),
                },
            )


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def expiring(session: Session, today: date, policy: ReminderPolicy) -> list[Expiring]:
    """Everything expiring within the furthest threshold, or expired lately."""
    start = today - timedelta(days=EXPIRED_LOOK_BACK_DAYS)
    end = today + timedelta(days=max(policy.days_before))
    found: list[Expiring] = []
    sources = (
        _certificates, _certifications, _evidence, _risk_decisions, _passports, _assessments
    )  # fmt: skip
    for source in sources:
        found.extend(source(session, start, end))
    return found


def _sent(session: Session, today: date) -> set[tuple[str, str, date, int]]:
    start = today - timedelta(days=EXPIRED_LOOK_BACK_DAYS)
    rows = session.execute(
        select(
            ExpiryReminder.subject_kind,
            ExpiryReminder.subject_id,
            ExpiryReminder.expires_on,
            ExpiryReminder.days_before,
        ).where(ExpiryReminder.expires_on >= start)
    )
    return {tuple(row) for row in rows}  # type: ignore[misc]


def sweep_expiries(
    session: Session, now: datetime, policy: ReminderPolicy | None = None
) -> SweepReport:
    """Remind of each thing at the nearest threshold it has reached and not been reminded at.
    Under the audit chain's lock: a second sweep at once waits, then finds everything sent."""
    policy = policy or reminder_policy()
    today = now.date()
    hold_append_lock(session)
    sent = _sent(session, today)
    report = SweepReport(today)
    raised = []
    for item in expiring(session, today, policy):
        report.considered += 1
        days_left = (item.expires_on - today).days
        threshold = policy.threshold(days_left, item.kind)
        key = (item.kind, item.subject_id, item.expires_on, threshold)
        if threshold is None or key in sent:
            continue
        alert = raise_decision_alert(
            session,
            SYSTEM,
            policy.kinds[item.kind].alert,
            item.organisation_id,
            item.product_id,
            {
                **item.detail,
                "expires_on": item.expires_on.isoformat(),
                "days_left": days_left,
                "reminder": "expired" if threshold == 0 else f"{threshold} days",
            },
        )
        session.add(
            ExpiryReminder(
                subject_kind=item.kind,
                subject_id=item.subject_id,
                expires_on=item.expires_on,
                days_before=threshold,
                alert_id=alert.id,
                sent_at=now,
            )
        )
        sent.add(key)  # type: ignore[arg-type]
        raised.append(alert)
        report.reminded[item.kind] = report.reminded.get(item.kind, 0) + 1
    session.flush()
    relay_to_deployers(session, raised)
    report.alerts = [alert.id for alert in raised]
    return report
