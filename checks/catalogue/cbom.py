"""CBOM: validate a CycloneDX 1.6/1.7 CBOM and classify every cryptographic asset in it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from pq_crypto.catalogue import AlgorithmClass

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class Claim(StrEnum):
    """What the algorithm policy makes of the CBOM's own nistQuantumSecurityLevel."""

    AGREES = "agrees"
    CONTRADICTS = "contradicts"  # the supplier's inventory is wrong (CBOM-006)
    SUPPLIER_CLAIM = "supplier-claim"  # the policy does not know the algorithm: the claim decides


class CbomAsset(ResultPart):
    """One cryptographic asset of the CBOM and how it is classified: an algorithm by its own
    properties (name, OID, parameter set, curve) against the algorithm policy, anything else by
    the worst algorithm its references reach, or else by its name. `basis` says which, and for
    an unknown asset why."""

    bom_ref: str | None = None
    name: str | None = None
    asset_type: str = "unknown"  # CycloneDX's assetType: algorithm, certificate, protocol, ...
    algorithm_class: AlgorithmClass = Field(alias="class")
    algorithm: str | None = None  # the policy's algorithm id, when it knows the asset's
    basis: str = ""
    nist_category: int | None = None  # the policy's NIST category for a quantum-safe algorithm
    claimed_level: int | None = None  # the CBOM's nistQuantumSecurityLevel, as written
    claim: Claim | None = None  # None when the CBOM claims nothing
    use: str | None = None  # key-establishment or signature: a public-key asset
    via: tuple[str, ...] = ()  # the bom-refs followed to the algorithm that decided
    # Named by a key, certificate or protocol, or in `dependencies`: an algorithm in use, which
    # alone can be a post-quantum counterpart (checks/cbom_policy.py, is_counterpart).
    referenced: bool = False


class CbomReadiness(ResultPart):
    """The inventory sub-score explained: what was counted and the points each rule of
    checks/data/cbom.yaml took away from 100."""

    assets: int = 0
    public_key: int = 0  # assets with a public-key use, classified
    unmigrated: int = 0  # quantum-vulnerable or broken public-key assets with no PQ counterpart
    migrating: int = 0  # ... with a verified, used quantum-safe or hybrid one of the same use
    unmigrated_uses: tuple[str, ...] = ()  # key-establishment, signature: exposed, no counterpart
    broken: int = 0
    unknown: int = 0
    supplier_claim: int = 0  # classified only by the CBOM's own claim
    confidence: float = 0.0  # percentage of assets the algorithm policy classified
    points_lost: dict[str, float] = Field(default_factory=dict)
    capped_at: float | None = None  # the cap a broken asset or an unmigrated use imposed


class CbomResult(CheckResult):
    """The assets of a CBOM that passed its schema; none when it did not."""

    spec_version: str | None = None  # CycloneDX 1.6 or 1.7
    assets: tuple[CbomAsset, ...] = ()
    counts: dict[AlgorithmClass, int] = Field(default_factory=dict)  # assets per class
    readiness: CbomReadiness | None = None  # None: no cryptographic asset to judge


# Enough unknown assets for a person to act on; the JSON report lists them all.
CONSOLE_UNKNOWN = 10


def console_lines(report: CheckReport) -> list[str]:
    """What the inventory score rests on, each contradicted claim, and why assets are unknown."""
    result = CbomResult.model_validate(report.details)
    readiness = result.readiness
    if readiness is None:
        return []
    lines = [
        f"{readiness.assets} assets, {readiness.public_key} public-key "
        f"({readiness.unmigrated} with no post-quantum counterpart), {readiness.broken} broken, "
        f"{readiness.unknown} unknown; classified by the algorithm policy: "
        f"{readiness.confidence:g}%"
    ]
    lost = ", ".join(
        f"{rule} {points:g}" for rule, points in readiness.points_lost.items() if points
    )
    if lost:
        lines.append(f"points lost: {lost}")
    for asset in result.assets:
        if asset.claim is Claim.CONTRADICTS:
            category = f", NIST category {asset.nist_category}" if asset.nist_category else ""
            lines.append(
                f"{asset.name}: claims level {asset.claimed_level}; "
                f"the policy: {asset.algorithm_class.value}{category}"
            )
    unknown = [a for a in result.assets if a.algorithm_class is AlgorithmClass.UNKNOWN]
    lines += [f"unknown {a.name}: {a.basis}" for a in unknown[:CONSOLE_UNKNOWN]]
    if len(unknown) > CONSOLE_UNKNOWN:
        lines.append(f"... and {len(unknown) - CONSOLE_UNKNOWN} more unknown (see --json)")
    return lines


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.cbom import run_cbom_check

    return run_cbom_check(*order.read_input(policy))


# No CBOM of a CBOM: the input already is one.
SPEC = CheckSpec(
    kind=CheckKind.CBOM,
    label="CBOM file",
    summary="Validate a CBOM and classify every cryptographic asset in it.",
    input=InputKind.FILE,
    input_help="A CycloneDX 1.6 or 1.7 CBOM (JSON).",
    run=run,
    post_quantum=True,
    result=CbomResult,
    console=console_lines,
)
