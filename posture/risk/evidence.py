"""The evidence a risk scenario can rest on, read live: a product's framework gaps, its claims a
check contradicts, the findings of its latest check runs and its unacknowledged alerts. A link
names the evidence and never copies it, so when the gap closes, the finding drops out of the
latest run or the alert is acknowledged, the link stays listed as resolved and stops counting."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from checks.findings import Severity
from frameworks.risk.likelihood import EvidenceItem, EvidenceKind, Suggestion
from frameworks.risk.policy import risk_policy
from frameworks.urns import outcome_urn
from kernel.errors import ValidationFailed
from posture.check_runs import latest_run_ids
from posture.portfolio.deployments import live_deployment
from posture.scoring.service import explain_entity
from posture.scoring.subjects import cutoff
from posture.storage.models import Alert, CheckRun, Finding, Membership, Organisation, Product
from posture.storage.models.enums import OrgKind
from posture.storage.models.risk import RiskEvidenceLink, RiskScenario

LABEL_LIMIT = 2000  # frameworks.schema.Text's bound: a label longer than it is cut, not refused

LinkState = Literal["current", "resolved"]


def _plain(text: str) -> str:
    """One line of plain text within the label bound: stored titles are supplier-written."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat[:LABEL_LIMIT] or "untitled"


class EvidenceView(BaseModel):
    """One piece of adverse evidence about a product as it stands today."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EvidenceKind
    ref: str
    label: str
    severity: Severity | None = None
    critical_outcome: bool = False
    finding_id: int | None = None
    alert_id: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.kind.value, self.ref

    def item(self) -> EvidenceItem:
        return EvidenceItem(
            kind=self.kind,
            ref=self.ref,
            label=self.label,
            severity=self.severity,
            critical_outcome=self.critical_outcome,
        )


class LinkedView(BaseModel):
    """A stored link with what its evidence says now; a resolved link no longer counts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    link_id: int
    kind: str
    ref: str
    state: LinkState
    label: str
    evidence: EvidenceView | None = None

    @property
    def current(self) -> bool:
        return self.state == "current"


def _level_name(status: str) -> str:
    # explain() names levels in words ("partially achieved"); targets are the framework's ids.
    return status.replace(" ", "_")


def _severity(value: Any) -> Severity | None:
    try:
        return Severity(str(value))
    except ValueError:
        return None


def _assessment_evidence(
    session: Session, product_id: int, as_of: date, finding_severity: dict[tuple[int, str], str]
) -> list[EvidenceView]:
    try:
        explained = explain_entity(session, f"product:{product_id}", as_of)
    except ValidationFailed:
        return []  # no submitted assessment: nothing claimed, so no gap and no contradiction
    framework = explained["framework"]
    found: list[EvidenceView] = []
    for outcome in explained["outcomes"]:
        ref = f"outcome:{outcome_urn(framework['id'], framework['version'], outcome['outcome'])}"
        status, target = _level_name(outcome["status"]), outcome["target"]
        critical = bool(outcome["critical"])
        if outcome["gap_levels"] > 0:
            found.append(
                EvidenceView(
                    kind=EvidenceKind.FRAMEWORK_GAP,
                    ref=ref,
                    label=_plain(
                        f"{outcome['outcome']} {outcome['title']}: {status}, target {target}"
                    ),
                    critical_outcome=critical,
                )
            )
        contradiction = outcome.get("contradicted_by")
        if contradiction:
            severity = finding_severity.get(
                (contradiction["check_run_id"], contradiction["finding"])
            )
            found.append(
                EvidenceView(
                    kind=EvidenceKind.CONTRADICTED_CLAIM,
                    ref=ref,
                    label=_plain(
                        f"{outcome['outcome']} {outcome['title']}: claimed "
                        f"{_level_name(outcome['claimed'])}, contradicted by finding "
                        f"{contradiction['finding']} ({contradiction['title']})"
                    ),
                    severity=_severity(severity),
                    critical_outcome=critical,
                )
            )
    return found


def _latest_findings(session: Session, product: Product, as_of: date) -> list[Finding]:
    # Only the supplier's own runs: a run another organisation requested is not its evidence.
    latest = latest_run_ids(
        CheckRun.product_id == product.id,
        CheckRun.organisation_id == product.organisation_id,
        CheckRun.finished_at <= cutoff(as_of),
    ).subquery()
    return list(
        session.scalars(
            select(Finding).join(latest, latest.c.id == Finding.check_run_id).order_by(Finding.id)
        )
    )


def _open_alerts(session: Session, product: Product, as_of: date) -> list[Alert]:
    # The supplier's alerts about its product; a force's own alerts are not evidence about it.
    # The supplier acknowledging its own alert does not settle it for the forces that carry
    # the risk: only someone outside the supplier can (an assessor, say).
    suppliers_own = select(Membership.user_id).where(
        Membership.organisation_id == product.organisation_id
    )
    return list(
        session.scalars(
            select(Alert)
            .where(
                Alert.product_id == product.id,
                Alert.organisation_id == product.organisation_id,
                or_(
                    Alert.acknowledged_at.is_(None),
                    Alert.acknowledged_by_user_id.in_(suppliers_own),
                ),
                Alert.raised_at <= cutoff(as_of),
            )
            .order_by(Alert.id)
        )
    )


def available_evidence(session: Session, product_id: int, as_of: date) -> list[EvidenceView]:
    """Every piece of adverse evidence about the product as of the day: gaps and contradicted
    claims first, in framework order, then open findings and unacknowledged alerts by id."""
    product = session.get(Product, product_id)
    if product is None or product.deleted_at is not None:
        return []
    findings = _latest_findings(session, product, as_of)
    severity_of = {(f.check_run_id, f.code): f.severity.value for f in findings}
    found = _assessment_evidence(session, product_id, as_of, severity_of)
    found += [
        EvidenceView(
            kind=EvidenceKind.FINDING,
            ref=f"finding:{finding.id}",
            label=_plain(f"{finding.code} ({finding.severity.value}): {finding.title}"),
            severity=finding.severity,
            finding_id=finding.id,
        )
        for finding in findings
    ]
    found += [
        EvidenceView(
            kind=EvidenceKind.ALERT,
            ref=f"alert:{alert.id}",
            label=_plain(f"{alert.code} ({alert.severity}): {alert.title}"),
            severity=_severity(alert.severity),
            alert_id=alert.id,
        )
        for alert in _open_alerts(session, product, as_of)
    ]
    return found


def _resolution(link: RiskEvidenceLink) -> str:
    if link.kind == EvidenceKind.ALERT:
        return f"{link.ref}: acknowledged by an assessor, no longer counts"
    if link.kind == EvidenceKind.FINDING:
        return f"{link.ref}: not in the latest check run, no longer counts"
    if link.kind == EvidenceKind.CONTRADICTED_CLAIM:
        return f"{link.ref}: no longer contradicted, no longer counts"
    return f"{link.ref}: the gap is closed, no longer counts"


def stored_links(session: Session, scenario_id: int) -> list[RiskEvidenceLink]:
    return list(
        session.scalars(
            select(RiskEvidenceLink)
            .where(RiskEvidenceLink.scenario_id == scenario_id)
            .order_by(RiskEvidenceLink.id)
        )
    )


def evidence_in_reach(session: Session, scenario: RiskScenario) -> bool:
    """Whether the scenario's owner may still read its product's evidence: a force only while it
    deploys the product; a national body always."""
    if scenario.product_id is None:
        return False
    owner = session.get(Organisation, scenario.organisation_id)
    if owner is None:
        return False
    if owner.kind != OrgKind.FORCE:
        return True
    return live_deployment(session, owner.id, scenario.product_id) is not None


def linked_evidence(session: Session, scenario: RiskScenario, as_of: date) -> list[LinkedView]:
    """Each stored link with what its evidence says today, in the order it was linked."""
    links = stored_links(session, scenario.id)
    if not links:
        return []
    reach = evidence_in_reach(session, scenario)
    now = (
        {view.key: view for view in available_evidence(session, scenario.product_id, as_of)}
        if scenario.product_id is not None and reach
        else {}
    )
    views = []
    for link in links:
        live = now.get((link.kind, link.ref))
        if not reach:
            views.append(
                LinkedView(
                    link_id=link.id,
                    kind=link.kind,
                    ref=link.ref,
                    state="resolved",
                    label=f"{link.ref}: the deployment has ended; its evidence is no longer shown",
                )
            )
            continue
        views.append(
            LinkedView(
                link_id=link.id,
                kind=link.kind,
                ref=link.ref,
                state="current" if live is not None else "resolved",
                label=live.label if live is not None else _resolution(link),
                evidence=live,
            )
        )
    return views


def suggest_from(views: list[EvidenceView]) -> Suggestion:
    """The policy's suggestion from this evidence: a pure function of it, so the same evidence
    gives the same suggestion whichever force links it."""
    return risk_policy().suggest([view.item() for view in views])


def suggested_likelihood(session: Session, scenario: RiskScenario, as_of: date) -> Suggestion:
    """The likelihood the scenario's current (not resolved) evidence suggests today."""
    return suggest_from(
        [
            view.evidence
            for view in linked_evidence(session, scenario, as_of)
            if view.evidence is not None
        ]
    )
