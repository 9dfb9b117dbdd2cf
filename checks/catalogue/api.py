"""API: lint an OpenAPI description and, given a base URL, test the live API with schemathesis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.catalogue import CheckKind, CheckSpec, InputKind

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.api.check import run_api_check
    from checks.api.live import LiveSettings

    check = order.check
    # The description is bundled from where it is (its relative $refs resolve there), so the
    # check reads the file or the URL itself rather than bytes handed over.
    source = order.input_file or check.target
    live = LiveSettings(**(check.live or {}))
    report = run_api_check(source, policy, check.base_url, list(check.tokens), live)
    if order.input_file and report.target == source:
        # The file's own name, not where the sandbox happened to put it.
        report = report.model_copy(update={"target": check.file_name or "upload"})
    return report


SPEC = CheckSpec(
    kind=CheckKind.API,
    label="OpenAPI description (+ optional sandbox URL)",
    summary=(
        "Lint an OpenAPI description and, with --base-url, test the live API with schemathesis."
    ),
    input=InputKind.FILE_OR_URL,
    run=run,
    post_quantum=False,
    live=True,
)
