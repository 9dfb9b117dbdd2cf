"""CBOM: validate a CycloneDX 1.6/1.7 CBOM and classify every cryptographic asset in it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from pq_crypto.catalogue import AlgorithmClass

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class CbomAsset(ResultPart):
    """One cryptographic asset of the CBOM and how it is classified: an algorithm by its own
    properties, anything else by the worst algorithm it refers to, or else by its name."""

    bom_ref: str | None = None
    name: str | None = None
    asset_type: str = "unknown"  # CycloneDX's assetType: algorithm, certificate, protocol, ...
    algorithm_class: AlgorithmClass = Field(alias="class")
    algorithm: str | None = None  # the policy's algorithm id, when it knows the asset's
    basis: str = ""


class CbomResult(CheckResult):
    """The assets of a CBOM that passed its schema; none when it did not."""

    spec_version: str | None = None  # CycloneDX 1.6 or 1.7
    assets: tuple[CbomAsset, ...] = ()
    counts: dict[AlgorithmClass, int] = Field(default_factory=dict)  # assets per class


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
)
