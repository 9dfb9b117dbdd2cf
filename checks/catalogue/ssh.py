"""SSH: key exchange and host key algorithms from the server's cleartext KEXINIT."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from checks.cbom_export import algorithm_component
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class SshAlgorithm(ResultPart):
    name: str
    algorithm_class: AlgorithmClass = Field(alias="class")


class SshResult(CheckResult):
    """What the server's KEXINIT offers, in its order of preference; only `address` when no
    KEXINIT was read."""

    banner: str | None = None  # the server's identification line
    kex_algorithms: tuple[SshAlgorithm, ...] = ()
    host_key_algorithms: tuple[SshAlgorithm, ...] = ()
    encryption: tuple[str, ...] = ()  # server to client
    mac: tuple[str, ...] = ()  # server to client
    address: str = ""


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.ssh import run_ssh_check

    return run_ssh_check(order.check.target, policy, timeout=order.check.timeout)


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    """Each key exchange and host key algorithm the server offers."""
    result = SshResult.model_validate(report.details)
    index = algorithm_index()
    components = []
    lists = ((result.kex_algorithms, "kem"), (result.host_key_algorithms, "signature"))
    for offered, role in lists:
        for algorithm in offered:
            classification = index.ssh(algorithm.name)
            # The policy's own usage when it knows the algorithm, else the list's role; the
            # role is not overwritten, so an unknown algorithm never inherits its neighbour's.
            usage = (
                index.get(classification.algorithm_id).usage
                if classification.algorithm_id
                else role
            )
            components.append(algorithm_component(algorithm.name, classification, usage))
    return components


SPEC = CheckSpec(
    kind=CheckKind.SSH,
    label="SSH endpoint (host:port)",
    summary="Key exchange and host key algorithms from the server's KEXINIT.",
    input=InputKind.ENDPOINT,
    run=run,
    post_quantum=True,
    cbom=cbom_components,
    result=SshResult,
)
