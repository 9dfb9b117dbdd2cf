"""How a classified inventory becomes findings and an inventory sub-score, by the rules in
checks/data/cbom.yaml: what the inventory holds (quantum-vulnerable public-key assets with no
post-quantum counterpart, broken algorithms, assets nobody can classify) takes points away, so a
CBOM scores well only for what it lists, not for listing it."""

from __future__ import annotations

from collections import Counter
from functools import cache
from importlib import resources
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field

from checks.catalogue.cbom import CbomAsset, CbomReadiness, Claim
from checks.findings import CheckFinding, finding
from pq_crypto.catalogue import AlgorithmClass

Points = Annotated[float, Field(ge=0, le=100)]
RESISTANT = {AlgorithmClass.QUANTUM_SAFE, AlgorithmClass.HYBRID}
EXPOSED = {AlgorithmClass.QUANTUM_VULNERABLE, AlgorithmClass.CLASSICALLY_BROKEN}
RULES = ("unmigrated_public_key", "migrating_public_key", "broken", "unknown", "supplier_claim")


class InventoryPoints(BaseModel):
    """Points lost, from 100, when every asset a rule counts is affected (pro rata otherwise)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    unmigrated_public_key: Points
    migrating_public_key: Points
    broken: Points
    broken_cap: Points  # the highest score an inventory with any broken asset can have
    unknown: Points
    supplier_claim: Points


class CbomPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    readiness: InventoryPoints
    # Names tools write where the algorithm is chosen at run time, and why nothing can classify it.
    placeholders: dict[str, str] = Field(default_factory=dict)

    def placeholder(self, name: str) -> str | None:
        wanted = name.strip().lower()
        return next((why for key, why in self.placeholders.items() if key.lower() == wanted), None)


@cache
def cbom_policy() -> CbomPolicy:
    text = (resources.files("checks") / "data" / "cbom.yaml").read_text("utf-8")
    return CbomPolicy.model_validate(yaml.safe_load(text))


def _label(row: CbomAsset) -> str:
    return row.name or row.bom_ref or "(unnamed)"


def _exposed_public_key(rows: list[CbomAsset]) -> tuple[list[CbomAsset], list[CbomAsset]]:
    """Quantum-vulnerable or broken public-key assets: those with no quantum-safe or hybrid asset
    of the same use in the inventory, and those with one."""
    covered = {row.use for row in rows if row.use and row.algorithm_class in RESISTANT}
    exposed = [row for row in rows if row.use and row.algorithm_class in EXPOSED]
    return [r for r in exposed if r.use not in covered], [r for r in exposed if r.use in covered]


def inventory_readiness(rows: list[CbomAsset], policy: CbomPolicy | None = None) -> CbomReadiness:
    points = (policy or cbom_policy()).readiness
    counts = Counter(row.algorithm_class for row in rows)
    unmigrated, migrating = _exposed_public_key(rows)
    public_key = [r for r in rows if r.use and r.algorithm_class is not AlgorithmClass.UNKNOWN]
    claimed = [r for r in rows if r.claim is Claim.SUPPLIER_CLAIM]
    total = len(rows)
    # Every rule, 0 where it took nothing, so the report shows each rule was applied.
    lost = dict.fromkeys(RULES, 0.0)
    if public_key:
        share = 1 / len(public_key)
        lost["unmigrated_public_key"] = points.unmigrated_public_key * len(unmigrated) * share
        lost["migrating_public_key"] = points.migrating_public_key * len(migrating) * share
    broken = counts[AlgorithmClass.CLASSICALLY_BROKEN]
    lost["broken"] = points.broken * broken / total
    lost["unknown"] = points.unknown * counts[AlgorithmClass.UNKNOWN] / total
    lost["supplier_claim"] = points.supplier_claim * len(claimed) / total
    score = max(0.0, 100.0 - sum(lost.values()))
    capped = broken > 0 and score > points.broken_cap
    by_policy = total - counts[AlgorithmClass.UNKNOWN] - len(claimed)
    return CbomReadiness(
        assets=total,
        public_key=len(public_key),
        unmigrated=len(unmigrated),
        migrating=len(migrating),
        broken=broken,
        unknown=counts[AlgorithmClass.UNKNOWN],
        supplier_claim=len(claimed),
        confidence=round(100.0 * by_policy / total, 1),
        points_lost={rule: round(value, 1) for rule, value in lost.items()},
        capped_at=points.broken_cap if capped else None,
    )


def inventory_score(readiness: CbomReadiness) -> float:
    score = max(0.0, 100.0 - sum(readiness.points_lost.values()))
    if readiness.capped_at is not None:
        score = min(score, readiness.capped_at)
    return round(score, 1)


def combine(rows: list[CbomAsset]) -> tuple[list[CheckFinding], CbomReadiness]:
    """The findings an inventory of at least one asset raises, and its readiness."""
    findings: list[CheckFinding] = []

    def labels(kind: AlgorithmClass) -> list[str]:
        return sorted({_label(r) for r in rows if r.algorithm_class is kind})

    if broken := labels(AlgorithmClass.CLASSICALLY_BROKEN):
        findings.append(finding("CBOM-001", assets=broken))
    if vulnerable := labels(AlgorithmClass.QUANTUM_VULNERABLE):
        unmigrated, _ = _exposed_public_key(rows)
        alone = sorted({_label(r) for r in unmigrated})
        findings.append(finding("CBOM-002", assets=vulnerable, without_counterpart=alone))
    if unknown := labels(AlgorithmClass.UNKNOWN):
        reasons = {_label(r): r.basis for r in rows if r.algorithm_class is AlgorithmClass.UNKNOWN}
        findings.append(finding("CBOM-003", assets=unknown, reasons=reasons))
    if resistant := sorted({_label(r) for r in rows if r.algorithm_class in RESISTANT}):
        findings.append(finding("CBOM-005", assets=resistant))
    contradictions = [
        {
            "asset": _label(r),
            "claimed_level": r.claimed_level,
            "catalogue": str(r.algorithm_class),
            "nist_category": r.nist_category,
            "algorithm": r.algorithm,
        }
        for r in rows
        if r.claim is Claim.CONTRADICTS
    ]
    if contradictions:
        findings.append(finding("CBOM-006", contradictions=contradictions))
    if claimed := sorted({_label(r) for r in rows if r.claim is Claim.SUPPLIER_CLAIM}):
        findings.append(finding("CBOM-008", assets=claimed))
    return findings, inventory_readiness(rows)
