"""TLS: one ClientHello per key-exchange group, versions, preference and the certificate chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.catalogue import CheckKind, CheckSpec, InputKind
from checks.cbom_export import tls_components

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.tls.check import run_tls_check

    return run_tls_check(order.check.target, policy, timeout=order.check.timeout)


SPEC = CheckSpec(
    kind=CheckKind.TLS,
    label="TLS endpoint (host:port)",
    summary="Key exchange groups (one per ClientHello), versions, preference and certificates.",
    input=InputKind.ENDPOINT,
    run=run,
    post_quantum=True,
    cbom=tls_components,
)
