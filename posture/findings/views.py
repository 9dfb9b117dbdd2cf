"""Reading tracked findings: a product's findings with their age, due date and SLA breach, the
disputes an assessor may decide, and the dashboard's counts by age and severity, each limited to
what the principal may see and counted in the database, never row by row in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from checks.findings import SEVERITY_RANK, Severity
from kernel.clock import utcnow
from posture.findings.reach import finding_reach
from posture.identity.permissions import NotFound, Principal, visible_organisations
from posture.risk.acceptance_state import acceptance_counts
from posture.storage.models import (
    Deployment,
    Product,
    RiskAcceptance,
    RiskScenario,
    TrackedFinding,
)
from posture.storage.models.enums import Role
from posture.storage.models.finding_lifecycle import OPEN_STATUSES, FindingStatus

# Age buckets in days since a run first showed the finding: (label, first day, last day).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30 days", 0, 30),
    ("31-90 days", 31, 90),
    ("91-180 days", 91, 180),
    ("over 180 days", 181, None),
)
MAX_LISTED = 500


def counts_open(today: date, viewers: set[int] | None = None) -> ColumnElement[bool]:
    """A finding that counts as open: open, in remediation, disputed, or accepted under an
    acceptance that does not hold for the viewer. An acceptance is one force's decision about
    its own deployment: it stops the finding counting for that force alone (`viewers`, the
    organisations looking), never for the supplier, other forces or the estate's counts, and
    not at all once it has ended (expired or revoked)."""
    acceptance_holds = exists().where(
        RiskAcceptance.id == TrackedFinding.acceptance_id,
        RiskAcceptance.revoked_at.is_(None),
        RiskAcceptance.expires_on >= today,
        RiskScenario.id == RiskAcceptance.scenario_id,
        RiskScenario.organisation_id.in_(sorted(viewers or ())),
    )
    return or_(
        TrackedFinding.status.in_(OPEN_STATUSES),
        and_(TrackedFinding.status == FindingStatus.RISK_ACCEPTED, ~acceptance_holds),
    )


@dataclass(frozen=True)
class FindingRow:
    id: int
    product_id: int | None
    kind: str
    target: str
    subject: str
    code: str
    severity: str
    title: str
    status: str
    first_seen_at: datetime
    last_seen_at: datetime
    age_days: int
    due_at: datetime
    breached: bool
    reopened_count: int
    owner_user_id: int | None
    acceptance_id: int | None
    dispute_reason: str | None
    decision_note: str | None


def finding_row(finding: TrackedFinding, now: datetime | None = None) -> FindingRow:
    now = now or utcnow()
    return FindingRow(
        id=finding.id,
        product_id=finding.product_id,
        kind=finding.kind,
        target=finding.target,
        subject=finding.subject,
        code=finding.code,
        severity=str(finding.severity),
        title=finding.title,
        status=str(finding.status),
        first_seen_at=finding.first_seen_at,
        last_seen_at=finding.last_seen_at,
        age_days=max(0, (now - finding.first_seen_at).days),
        due_at=finding.due_at,
        breached=finding.status in OPEN_STATUSES and finding.due_at < now,
        reopened_count=finding.reopened_count,
        owner_user_id=finding.owner_user_id,
        acceptance_id=finding.acceptance_id,
        dispute_reason=finding.dispute_reason,
        decision_note=finding.decision_note,
    )


def _product_in_reach(session: Session, principal: Principal, product_id: int) -> Product:
    """The product, if the principal may read its findings: its supplier's, or one its force
    deploys now, or any with an estate-wide grant."""
    visible = visible_organisations(principal, "finding.read")
    product = session.get(Product, product_id)
    if product is None or (
        visible is not None
        and product.organisation_id not in visible
        and not session.scalar(
            select(func.count()).where(
                Deployment.product_id == product_id,
                Deployment.organisation_id.in_(visible),
                Deployment.ended_at.is_(None),
            )
        )
    ):
        raise NotFound("product not found")
    return product


def product_findings(
    session: Session,
    principal: Principal,
    product_id: int,
    *,
    include_closed: bool = False,
    now: datetime | None = None,
) -> list[FindingRow]:
    """A product's findings, those counting as open unless `include_closed`, worst and oldest
    first."""
    now = now or utcnow()
    _product_in_reach(session, principal, product_id)
    query = select(TrackedFinding).where(TrackedFinding.product_id == product_id)
    if not include_closed:
        query = query.where(counts_open(now.date(), principal.organisation_ids()))
    rank = case(*((TrackedFinding.severity == s, SEVERITY_RANK[s]) for s in Severity), else_=0)
    query = query.order_by(rank.desc(), TrackedFinding.first_seen_at, TrackedFinding.id)
    return [finding_row(f, now) for f in session.scalars(query.limit(MAX_LISTED))]


def disputes_to_decide(
    session: Session, principal: Principal, now: datetime | None = None
) -> list[FindingRow]:
    """Disputed findings the principal may decide, oldest dispute first; never the principal's
    own organisation's."""
    now = now or utcnow()
    reach = finding_reach(principal, "finding.decide")
    query = select(TrackedFinding).where(
        TrackedFinding.status == FindingStatus.DISPUTED,
        TrackedFinding.organisation_id.not_in(principal.organisation_ids() or {0}),
    )
    if reach is not None:
        query = query.where(reach)
    query = query.order_by(TrackedFinding.disputed_at, TrackedFinding.id).limit(MAX_LISTED)
    return [finding_row(f, now) for f in session.scalars(query)]


@dataclass(frozen=True)
class AgeCount:
    bucket: str
    severity: str
    open: int
    breached: int


@dataclass(frozen=True)
class FindingSummary:
    counts: list[AgeCount]  # every bucket and severity, zeros included, worst severity first
    open: int
    breached: int


def finding_summary(
    session: Session, principal: Principal, now: datetime | None = None
) -> FindingSummary:
    """Open findings the principal may see by age bucket and severity, with SLA breaches:
    one grouped query."""
    now = now or utcnow()
    reach = finding_reach(principal, "finding.read")
    bucket = case(
        *(
            (TrackedFinding.first_seen_at > now - timedelta(days=last + 1), label)
            for label, _, last in AGE_BUCKETS
            if last is not None
        ),
        else_=AGE_BUCKETS[-1][0],
    )
    breached = func.sum(case((TrackedFinding.due_at < now, 1), else_=0))
    query = select(bucket.label("bucket"), TrackedFinding.severity, func.count(), breached).where(
        counts_open(now.date(), principal.organisation_ids())
    )
    if reach is not None:
        query = query.where(reach)
    found = {
        (label, str(severity)): (count, int(late or 0))
        for label, severity, count, late in session.execute(
            query.group_by(bucket, TrackedFinding.severity)
        )
    }
    counts = [
        AgeCount(label, severity.value, *found.get((label, severity.value), (0, 0)))
        for label, _, _ in AGE_BUCKETS
        for severity in reversed(Severity)
    ]
    return FindingSummary(counts, sum(c.open for c in counts), sum(c.breached for c in counts))


@dataclass(frozen=True)
class ProductFindings:
    product_id: int
    name: str
    open: int
    breached: int


def products_with_findings(
    session: Session, principal: Principal, now: datetime | None = None, limit: int = 200
) -> list[ProductFindings]:
    """Products whose findings the principal may read that have any counting as open, most
    open first: one grouped query."""
    now = now or utcnow()
    reach = finding_reach(principal, "finding.read")
    late = func.sum(case((TrackedFinding.due_at < now, 1), else_=0))
    query = (
        select(Product.id, Product.name, func.count(), late)
        .join(Product, Product.id == TrackedFinding.product_id)
        .where(counts_open(now.date(), principal.organisation_ids()))
        .group_by(Product.id, Product.name)
        .order_by(func.count().desc(), Product.name)
        .limit(limit)
    )
    if reach is not None:
        query = query.where(reach)
    return [
        ProductFindings(product_id, name, count, int(breached or 0))
        for product_id, name, count, breached in session.execute(query)
    ]


def supplier_members(session: Session, principal: Principal, finding_id: int) -> dict[int, str]:
    """Who may own a finding's remediation: members of its supplier, for its supplier admin."""
    from posture.findings.reach import load_finding
    from posture.storage.models import Membership, User
    from posture.storage.models.enums import SUPPLIER_ROLES

    finding = load_finding(session, principal, finding_id, "finding.manage")
    rows = session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == finding.organisation_id,
            Membership.role.in_(SUPPLIER_ROLES),
        )
        .order_by(User.email)
        .distinct()
    )
    return {user_id: email for user_id, email in rows}


def acceptances_to_link(
    session: Session, principal: Principal, product_id: int, today: date | None = None
) -> dict[int, str]:
    """The current risk acceptances of `product_id` by the forces the principal is SIRO of, by
    id, named by their scenario and last day: what `decisions.accept_risk` may link."""
    today = today or utcnow().date()
    mine = {m.organisation_id for m in principal.memberships if m.role == Role.SIRO}
    if not mine:
        return {}
    rows = session.execute(
        select(RiskAcceptance, RiskScenario.title)
        .join(RiskScenario, RiskScenario.id == RiskAcceptance.scenario_id)
        .where(RiskScenario.organisation_id.in_(mine), RiskScenario.product_id == product_id)
        .order_by(RiskAcceptance.id)
    ).all()
    return {
        acceptance.id: f"#{acceptance.id} {title[:80]} (until {acceptance.expires_on.isoformat()})"
        for acceptance, title in rows
        if acceptance_counts(acceptance, today)
    }
