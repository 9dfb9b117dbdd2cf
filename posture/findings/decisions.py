"""What people do to a tracked finding: the supplier sets an owner and due date, disputes it as
a false positive; an assessor upholds or rejects the dispute; a SIRO links a risk acceptance.

Each change is conditional on the finding still being as the actor saw it (its status and
version), so of two racing changes one applies and the other is told the finding changed. Each
is audited. Refusals change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.findings.reach import load_finding
from posture.findings.sla import finding_sla
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.plain_text import plain_text
from posture.risk.acceptance_state import acceptance_counts
from posture.storage.models import Membership, RiskAcceptance, RiskScenario, TrackedFinding
from posture.storage.models.enums import SUPPLIER_ROLES, Role
from posture.storage.models.finding_lifecycle import OPEN_STATUSES, FindingStatus

MIN_REASON, MAX_REASON = 10, 2_000
MAX_NOTE = 2_000


def _text(value: str, what: str, least: int, most: int) -> str:
    """Plain text a person typed: trimmed, `least` to `most` characters, no control chars."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(plain_text(least, most)).validate_python(value)
    except ValidationError:
        raise ValidationFailed(
            f"{what}: plain text of {least} to {most:,} characters, no control characters"
        ) from None


def _change(
    session: Session,
    finding: TrackedFinding,
    allowed: Iterable[FindingStatus],
    values: dict[str, Any],
) -> None:
    """Apply `values` only if the finding is still in an `allowed` status at the version read."""
    changed = session.execute(
        update(TrackedFinding)
        .where(
            TrackedFinding.id == finding.id,
            TrackedFinding.version == finding.version,
            TrackedFinding.status.in_(list(allowed)),
        )
        .values(**values, version=TrackedFinding.version + 1)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:
        raise ValidationFailed("the finding changed meanwhile; reload it and try again")
    session.refresh(finding)


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    finding: TrackedFinding,
    data: dict[str, Any],
) -> None:
    record(
        session,
        actor_of(principal),
        action,
        "tracked_finding",
        finding.id,
        {"code": finding.code, "product_id": finding.product_id, **data},
        organisation_id=finding.organisation_id,
    )


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def set_remediation(
    session: Session,
    principal: Principal,
    finding_id: int,
    owner_user_id: int,
    due_on: date | None = None,
) -> TrackedFinding:
    """A supplier admin names who fixes the finding (a member of the supplier) and, if sooner
    than the SLA allows, by when: open -> in remediation, or a new owner or date while in it."""
    finding = load_finding(session, principal, finding_id, "finding.manage")
    owner = session.scalar(
        select(Membership.user_id).where(
            Membership.user_id == owner_user_id,
            Membership.organisation_id == finding.organisation_id,
            Membership.role.in_(SUPPLIER_ROLES),
        )
    )
    if owner is None:
        raise ValidationFailed("owner: name a member of the supplier's own organisation")
    latest = finding_sla().due_from(finding.severity, finding.first_seen_at)
    due = finding.due_at
    if due_on is not None:
        due = _end_of(due_on)
        if due < utcnow():
            raise ValidationFailed("due_on: a due date must not be in the past")
        if due > max(latest, finding.due_at):
            raise ValidationFailed(
                f"due_on: the SLA for a {finding.severity} finding ends "
                f"{max(latest, finding.due_at).date().isoformat()}; a later date needs a risk "
                "acceptance"
            )
    before = finding.status
    _change(
        session,
        finding,
        (FindingStatus.OPEN, FindingStatus.IN_REMEDIATION),
        {
            "status": FindingStatus.IN_REMEDIATION,
            "owner_user_id": owner_user_id,
            "due_at": due,
            "breach_alerted_at": None if due != finding.due_at else finding.breach_alerted_at,
        },
    )
    _audit(
        session,
        principal,
        "finding.remediation",
        finding,
        {
            "from": before,
            "to": finding.status,
            "user_id": owner_user_id,
            "due_on": due.date().isoformat(),
        },
    )
    return finding


def dispute(session: Session, principal: Principal, finding_id: int, reason: str) -> TrackedFinding:
    """The supplier says the finding is a false positive, and why; it still counts as open
    until an assessor upholds the dispute."""
    finding = load_finding(session, principal, finding_id, "finding.dispute")
    reason = _text(reason, "reason", MIN_REASON, MAX_REASON)
    before = finding.status
    _change(
        session,
        finding,
        (FindingStatus.OPEN, FindingStatus.IN_REMEDIATION),
        {
            "status": FindingStatus.DISPUTED,
            "disputed_from": before,
            "dispute_reason": reason,
            "disputed_by_user_id": principal.user_id,
            "disputed_at": utcnow(),
            "decided_by_user_id": None,
            "decided_at": None,
            "decision_note": None,
        },
    )
    _audit(
        session,
        principal,
        "finding.disputed",
        finding,
        {"from": before, "to": finding.status, "reason": reason},
    )
    return finding


def decide_dispute(
    session: Session, principal: Principal, finding_id: int, uphold: bool, note: str
) -> TrackedFinding:
    """An assessor (national, or of a force deploying the product) upholds the dispute (a false
    positive) or rejects it (back to where it was). Never someone of the supplier itself."""
    finding = load_finding(session, principal, finding_id, "finding.decide")
    if finding.organisation_id in principal.organisation_ids():
        raise PermissionDenied("a dispute is decided by an assessor outside the supplier")
    note = _text(note, "note", MIN_REASON, MAX_NOTE)
    if finding.status != FindingStatus.DISPUTED:
        raise ValidationFailed(f"the finding is {finding.status}, not disputed")
    back = finding.disputed_from or FindingStatus.OPEN
    to = FindingStatus.FALSE_POSITIVE if uphold else back
    _change(
        session,
        finding,
        (FindingStatus.DISPUTED,),
        {
            "status": to,
            "decided_by_user_id": principal.user_id,
            "decided_at": utcnow(),
            "decision_note": note,
        },
    )
    _audit(
        session,
        principal,
        "finding.dispute_decided",
        finding,
        {"from": FindingStatus.DISPUTED, "to": to, "upheld": uphold, "note": note},
    )
    return finding


def accept_risk(
    session: Session, principal: Principal, finding_id: int, acceptance_id: int
) -> TrackedFinding:
    """A SIRO links a current acceptance of the same product's risk: the finding no longer
    counts as open until that acceptance ends."""
    finding = load_finding(session, principal, finding_id, "finding.accept")
    found = session.execute(
        select(RiskAcceptance, RiskScenario.organisation_id, RiskScenario.product_id)
        .join(RiskScenario, RiskScenario.id == RiskAcceptance.scenario_id)
        .where(RiskAcceptance.id == acceptance_id)
    ).first()
    mine = {m.organisation_id for m in principal.memberships if m.role == Role.SIRO}
    if found is None or found[1] not in mine:
        raise NotFound("acceptance not found")
    acceptance, _, product_id = found
    if product_id is None or product_id != finding.product_id:
        raise ValidationFailed("acceptance_id: the acceptance is not of this finding's product")
    if not acceptance_counts(acceptance, utcnow().date()):
        raise ValidationFailed("acceptance_id: the acceptance has expired or was revoked")
    before = finding.status
    _change(
        session,
        finding,
        OPEN_STATUSES,
        {"status": FindingStatus.RISK_ACCEPTED, "acceptance_id": acceptance.id},
    )
    _audit(
        session,
        principal,
        "finding.risk_accepted",
        finding,
        {"from": before, "to": finding.status, "acceptance_id": acceptance.id},
    )
    return finding
