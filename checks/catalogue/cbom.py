"""CBOM: validate a CycloneDX 1.6/1.7 CBOM and classify every cryptographic asset in it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.catalogue import CheckKind, CheckSpec, InputKind

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


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
)
