"""The risk register: a force's deployments of products, risk scenarios with their linked
evidence and levels, treatments and their actions, time-limited acceptances, and outcome-level
exceptions. Evidence is linked, never copied: a link names the gap, claim, finding or alert, and
what it says now is read from there."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import (
    ActionStatus,
    RiskStatus,
    RiskSubjectKind,
    TreatmentKind,
    enum_column,
)


class Deployment(Base):
    """A force uses a supplier's product: the force may then see that product's posture and
    evidence, and file risks about it. The facts its own use adds (frameworks.deployment_facts.
    ForceUse) raise the profile the deployment needs above the product's own."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("organisation_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    classification: Mapped[str | None] = mapped_column(String(32))
    sensitive_caveat: Mapped[bool] = mapped_column(default=False, server_default=false())
    police_networks: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    national_systems: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    records_held: Mapped[int | None] = mapped_column(BigInteger)
    # The portfolio record (posture.portfolio.details.PortfolioDetails).
    product_version: Mapped[str | None] = mapped_column(String(64))
    criticality: Mapped[str | None] = mapped_column(String(32))
    internet_facing: Mapped[bool] = mapped_column(default=False, server_default=false())
    contract_start: Mapped[date | None] = mapped_column(Date)
    contract_end: Mapped[date | None] = mapped_column(Date)
    renewal_notice_days: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(200))
    sub_suppliers: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    # When the record last changed, so views built from every deployment know when to rebuild.
    updated_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow
    )


class RiskScenario(Base):
    __tablename__ = "risk_scenarios"
    __table_args__ = (Index("ix_risk_scenarios_product_threat", "product_id", "threat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The owner: a force or a national body.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    subject_kind: Mapped[RiskSubjectKind] = mapped_column(
        enum_column(RiskSubjectKind, "risk_subject_kind")
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(200))
    threat: Mapped[str] = mapped_column(String(64))
    threat_text: Mapped[str] = mapped_column(Text)
    vulnerability_text: Mapped[str] = mapped_column(Text)
    # The matrix version the levels are ids of.
    matrix_version: Mapped[str] = mapped_column(String(16))
    inherent_likelihood: Mapped[str] = mapped_column(String(64))
    inherent_impact: Mapped[str] = mapped_column(String(64))
    current_likelihood: Mapped[str] = mapped_column(String(64))
    current_impact: Mapped[str] = mapped_column(String(64))
    # What the platform suggested when the owner last rated, and why the owner differed.
    suggested_likelihood: Mapped[str] = mapped_column(String(64))
    differs_because: Mapped[str | None] = mapped_column(Text)
    residual_likelihood: Mapped[str | None] = mapped_column(String(64))
    residual_impact: Mapped[str | None] = mapped_column(String(64))
    # A digest of the subject product's facts when rated: ratings under the same facts compare.
    facts_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[RiskStatus] = mapped_column(enum_column(RiskStatus, "risk_status"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RiskEvidenceLink(Base):
    """One piece of evidence a scenario rests on: `ref` is `outcome:<urn>` for a gap or a
    contradicted claim (read from the subject's current assessment), `finding:<id>` or
    `alert:<id>`."""

    __tablename__ = "risk_evidence_links"
    __table_args__ = (UniqueConstraint("scenario_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("risk_scenarios.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(300))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RiskTreatment(Base):
    __tablename__ = "risk_treatments"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("risk_scenarios.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TreatmentKind] = mapped_column(enum_column(TreatmentKind, "treatment_kind"))
    description: Mapped[str] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RiskAction(Base):
    """A mitigation action: who, by when, how far, and what it addresses."""

    __tablename__ = "risk_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(
        ForeignKey("risk_treatments.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus, "action_status"))
    # Outcome ids and finding codes the action addresses.
    addresses: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RiskAcceptance(Base):
    """A named approver accepts a scenario's residual risk until a day; expired or revoked, it
    no longer counts."""

    __tablename__ = "risk_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("risk_scenarios.id", ondelete="CASCADE"), index=True
    )
    approver_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approver_role: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text, default="")
    residual_level: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expiry_alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutcomeException(Base):
    """A force accepts, for a period and with compensating controls, that a product does not
    meet one outcome of a framework."""

    __tablename__ = "outcome_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    framework_id: Mapped[str] = mapped_column(String(64))
    outcome_id: Mapped[str] = mapped_column(String(64))
    compensating_controls: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text)
    approver_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expiry_alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
