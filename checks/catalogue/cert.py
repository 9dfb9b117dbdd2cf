"""Certificate file: key type and size, signature algorithm and validity of each certificate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind
from checks.catalogue.certificate_seen import CertificateSeen, certificate_assets

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class CertResult(CheckResult):
    """The certificates of the file, leaf first; none when the file could not be read."""

    certificates: tuple[CertificateSeen, ...] = ()


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.certificate_file import run_certificate_check

    return run_certificate_check(*order.read_input(policy))


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    result = CertResult.model_validate(report.details)
    return certificate_assets(report.target, result.certificates)


SPEC = CheckSpec(
    kind=CheckKind.CERT,
    label="Certificate file",
    summary="Key type and size, signature algorithm and validity of a certificate file.",
    input=InputKind.FILE,
    input_help="A PEM or DER certificate (or PEM chain).",
    run=run,
    post_quantum=True,
    cbom=cbom_components,
    result=CertResult,
)
