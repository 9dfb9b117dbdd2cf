"""Post-quantum readiness: sub-scores from the evidence, a weighted 0-100 score, and where the
subject stands against the NCSC milestones. Weights and thresholds are data (readiness.yaml)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.findings import CheckFinding
from checks.report import CheckReport, MilestoneStatus, ReportStatus
from kernel.data_yaml import load_data_yaml
from pq_crypto.catalogue import AlgorithmClass, Classification, algorithm_index


class ReadinessPart(StrEnum):
    """The sub-scores a check can compute from what it observes: key exchange (TLS, SSH),
    signatures and certificates (TLS, SSH, certificate, JWKS) and inventory (CBOM). A weight or a
    milestone for anything else would name a part no check produces, so the schema refuses it."""

    KEY_EXCHANGE = "key_exchange"
    SIGNATURES_AND_CERTIFICATES = "signatures_and_certificates"
    INVENTORY = "inventory"


Points = Annotated[float, Field(ge=0, le=100)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyExchangePoints(_Table):
    pq_preferred: Points  # every client that offers a hybrid gets one, whatever its order
    pq_follows_client: Points  # clients offering a hybrid first get it, the others classical
    pq_supported: Points  # offered, but clients offering it first still get classical
    obsolete_only: Points
    none: Points

    @model_validator(mode="after")
    def _tiers_in_order(self) -> KeyExchangePoints:
        # A table that scored following the client's order above preferring post-quantum would
        # reward the weaker configuration.
        tiers = [self.pq_preferred, self.pq_follows_client, self.pq_supported, self.none]
        if tiers != sorted(tiers, reverse=True):
            raise ValueError(
                "key_exchange: pq_preferred >= pq_follows_client >= pq_supported >= none"
            )
        return self


class SignaturePoints(_Table):
    quantum_safe: Points
    classical_128: Points
    classical_112: Points
    unknown: Points
    broken: Points


class ReadinessPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: dict[ReadinessPart, float] = Field(min_length=1)
    key_exchange: KeyExchangePoints
    signatures: SignaturePoints
    milestones: dict[str, dict[ReadinessPart, Points]]

    @model_validator(mode="after")
    def _sane(self) -> ReadinessPolicy:
        if any(weight <= 0 for weight in self.weights.values()):
            raise ValueError("weights: every part weighs more than 0 (leave a part out instead)")
        known = {milestone.id for milestone in algorithm_index().catalogue.milestones}
        unknown = sorted(set(self.milestones) - known)
        if unknown:
            raise ValueError(f"milestones: {unknown} are not milestones of the algorithm policy")
        return self


@cache
def readiness_policy() -> ReadinessPolicy:
    text = (Path(__file__).resolve().parent / "data" / "readiness.yaml").read_text("utf-8")
    return ReadinessPolicy.model_validate(load_data_yaml(text))


def key_exchange_score(
    pq_supported: bool, pq_preferred: bool, obsolete_only: bool, follows_client: bool = False
) -> float:
    """`follows_client`: post-quantum is negotiated with clients that offer it first only (the
    server follows the client's order), the middle tier between preferred and supported."""
    table = readiness_policy().key_exchange
    if pq_preferred:
        return table.pq_preferred
    if pq_supported and follows_client:
        return table.pq_follows_client
    if pq_supported:
        return table.pq_supported
    return table.obsolete_only if obsolete_only else table.none


def signature_score(classifications: list[Classification]) -> float:
    """The weakest of the signatures in use decides."""
    table = readiness_policy().signatures
    worst = table.quantum_safe
    for classification in classifications:
        if classification.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN:
            value = table.broken
        elif classification.algorithm_class is AlgorithmClass.UNKNOWN:
            value = table.unknown
        elif classification.quantum_resistant:
            value = table.quantum_safe
        elif (classification.classical_bits or 0) <= 112:
            value = table.classical_112
        else:
            value = table.classical_128
        worst = min(worst, value)
    return worst


def overall(subscores: dict[str, float | None]) -> float | None:
    """Weighted mean over the parts that were assessed; None when none were."""
    weights = readiness_policy().weights
    assessed = {k: v for k, v in subscores.items() if v is not None and k in weights}
    total = sum(weights[k] for k in assessed)
    if not total:
        return None
    return round(sum(weights[k] * v for k, v in assessed.items()) / total, 1)


def milestone_view(subscores: dict[str, float | None], today: date) -> list[MilestoneStatus]:
    views = []
    for milestone in algorithm_index().catalogue.milestones:
        needs = readiness_policy().milestones.get(milestone.id, {})
        values = [subscores.get(part) for part in needs]
        if not needs or any(value is None for value in values):
            status = "not assessed"
        elif all((subscores[part] or 0) >= threshold for part, threshold in needs.items()):
            status = "met"
        else:
            status = "not met"
        views.append(
            MilestoneStatus(
                id=milestone.id,
                date=milestone.date.isoformat(),
                title=milestone.title,
                status=status,
                days_left=(milestone.date - today).days,
            )
        )
    return views


def assemble(
    kind: str,
    target: str,
    started: datetime,
    findings: list[CheckFinding],
    subscores: dict[str, float | None],
    details: dict[str, Any] | None = None,
    today: date | None = None,
) -> CheckReport:
    """The report of a check: assessable when at least one sub-score could be computed."""
    assessed = any(value is not None for value in subscores.values())
    return CheckReport(
        kind=kind,
        target=target,
        started_at=started,
        finished_at=datetime.now(UTC),
        status=ReportStatus.COMPLETED if assessed else ReportStatus.NOT_ASSESSABLE,
        score=overall(subscores),
        subscores=subscores,
        milestones=milestone_view(subscores, today or started.date()) if assessed else [],
        findings=findings,
        details=details or {},
    )
