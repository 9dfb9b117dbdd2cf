"""SSH: key exchange and host key algorithms from the server's cleartext KEXINIT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.catalogue import CheckKind, CheckSpec, InputKind
from checks.cbom_export import ssh_components

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.ssh import run_ssh_check

    return run_ssh_check(order.check.target, policy, timeout=order.check.timeout)


SPEC = CheckSpec(
    kind=CheckKind.SSH,
    label="SSH endpoint (host:port)",
    summary="Key exchange and host key algorithms from the server's KEXINIT.",
    input=InputKind.ENDPOINT,
    run=run,
    post_quantum=True,
    cbom=ssh_components,
)
