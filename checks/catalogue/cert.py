"""Certificate file: key type and size, signature algorithm and expiry of each certificate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.catalogue import CheckKind, CheckSpec, InputKind
from checks.cbom_export import certificate_components

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.certificate_file import run_certificate_check

    return run_certificate_check(*order.read_input(policy))


SPEC = CheckSpec(
    kind=CheckKind.CERT,
    label="Certificate file",
    summary="Key type and size, signature algorithm and expiry of a certificate file.",
    input=InputKind.FILE,
    input_help="A PEM or DER certificate (or PEM chain).",
    run=run,
    post_quantum=True,
    cbom=certificate_components,
)
