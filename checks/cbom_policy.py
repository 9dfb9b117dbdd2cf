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
    """Points lost from 100. The public-key rules count uses (key establishment, signature), the
    others count distinct assets up to a most: neither is a share of all rows, so rows added to
    a CBOM (hashes, symmetric ciphers, duplicates) can never dilute a penalty."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    unmigrated_public_key: Points  # when every exposed use has no counterpart (pro rata per use)
    migrating_public_key: Points  # when every exposed use has one
    unmigrated_cap: Points  # the highest score with any exposed use lacking a counterpart
    broken: Points  # the most the broken rule takes
    broken_each: Points  # per distinct broken asset
    broken_cap: Points  # the highest score an inventory with any broken asset can have
    unknown: Points
    unknown_each: Points
    supplier_claim: Points
    supplier_claim_each: Points


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


def is_counterpart(row: CbomAsset) -> bool:
    """A post-quantum counterpart: quantum-safe or hybrid by the algorithm policy itself (never
    by the supplier's nistQuantumSecurityLevel alone), and used. An algorithm is used when a key,
    certificate, protocol or dependency refers to it; a key, certificate or protocol when it
    reached that algorithm by reference. A bare list of algorithms says what exists, not what is
    used, so in a CBOM with no references nothing is a counterpart: listing ML-KEM is not
    deploying it."""
    verified = (
        row.algorithm_class in RESISTANT
        and row.algorithm is not None
        and row.claim is not Claim.SUPPLIER_CLAIM
    )
    used = row.referenced if row.asset_type == "algorithm" else bool(row.via)
    return bool(row.use) and verified and used


def _exposed_public_key(rows: list[CbomAsset]) -> tuple[list[CbomAsset], list[CbomAsset]]:
    """Quantum-vulnerable or broken public-key assets: those whose use has no counterpart, and
    those whose use has one."""
    covered = {row.use for row in rows if is_counterpart(row)}
    exposed = [row for row in rows if row.use and row.algorithm_class in EXPOSED]
    return [r for r in exposed if r.use not in covered], [r for r in exposed if r.use in covered]


def _distinct(rows: list[CbomAsset]) -> int:
    return len({(r.algorithm or _label(r), r.use) for r in rows})


def inventory_readiness(rows: list[CbomAsset], policy: CbomPolicy | None = None) -> CbomReadiness:
    points = (policy or cbom_policy()).readiness
    counts = Counter(row.algorithm_class for row in rows)
    unmigrated, migrating = _exposed_public_key(rows)
    public_key = [r for r in rows if r.use and r.algorithm_class is not AlgorithmClass.UNKNOWN]
    claimed = [r for r in rows if r.claim is Claim.SUPPLIER_CLAIM]
    total = len(rows)
    # Every rule, 0 where it took nothing, so the report shows each rule was applied.
    lost = dict.fromkeys(RULES, 0.0)
    # Per use, not per row: at most two, so neither padding nor duplicates change the share.
    alone = sorted({str(r.use) for r in unmigrated})
    exposed_uses = len(alone) + len({r.use for r in migrating})
    if exposed_uses:
        lost["unmigrated_public_key"] = points.unmigrated_public_key * len(alone) / exposed_uses
        covered = exposed_uses - len(alone)
        lost["migrating_public_key"] = points.migrating_public_key * covered / exposed_uses
    broken = [r for r in rows if r.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN]
    unknown = [r for r in rows if r.algorithm_class is AlgorithmClass.UNKNOWN]
    lost["broken"] = min(points.broken, points.broken_each * _distinct(broken))
    lost["unknown"] = min(points.unknown, points.unknown_each * _distinct(unknown))
    lost["supplier_claim"] = min(
        points.supplier_claim, points.supplier_claim_each * _distinct(claimed)
    )
    score = max(0.0, 100.0 - sum(lost.values()))
    caps = [points.broken_cap] if broken else []
    caps += [points.unmigrated_cap] if alone else []
    cap = min(caps, default=None)
    by_policy = total - counts[AlgorithmClass.UNKNOWN] - len(claimed)
    return CbomReadiness(
        assets=total,
        public_key=len(public_key),
        unmigrated=len(unmigrated),
        migrating=len(migrating),
        unmigrated_uses=tuple(alone),
        broken=len(broken),
        unknown=len(unknown),
        supplier_claim=len(claimed),
        confidence=round(100.0 * by_policy / total, 1),
        points_lost={rule: round(value, 1) for rule, value in lost.items()},
        capped_at=cap if cap is not None and score > cap else None,
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
