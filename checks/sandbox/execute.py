"""Inside the sandbox: run the one check an order names. The only place a check kind is
turned into a call (its catalogue spec's `run`), so the CLI and the worker reach every check the
same way."""

from __future__ import annotations

from checks.catalogue import spec_for
from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.sandbox.request import ChildOrder


def execute(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    return spec_for(order.check.kind).run(order, policy)
