"""A toy kind of check, whole in this one module: it reads a text file and finds the TODOs left in
it. tests/checks/test_check_catalogue.py registers it to show that a check is one module.

The sandbox child loads this file again by its path, so it imports only what the child can:
the platform's packages, never `tests`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from checks.catalogue import CheckSpec, FindingText, InputKind
from checks.findings import Severity, finding
from checks.report import CheckReport, ReportStatus

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.sandbox.request import ChildOrder

KIND = "toy"


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    raw, name = order.read_input(policy)
    lines = raw.decode("utf-8", "replace").splitlines()
    todo = [number for number, line in enumerate(lines, 1) if "TODO" in line]
    now = datetime.now(UTC)
    return CheckReport(
        kind=KIND,
        target=name,
        started_at=now,
        finished_at=now,
        status=ReportStatus.COMPLETED,
        score=0.0 if todo else 100.0,
        findings=[finding("TOY-001", lines=todo)] if todo else [],
        details={"lines": len(lines)},
    )


SPEC = CheckSpec(
    kind=KIND,
    label="Toy text file (TODOs left)",
    summary="Find the TODOs left in a text file.",
    input=InputKind.FILE,
    input_help="A UTF-8 text file.",
    run=run,
    post_quantum=False,
    findings={
        "TOY-001": FindingText(
            severity=Severity.LOW,
            title="The file still has TODOs",
            advice="Do what each TODO says, or remove it.",
        )
    },
)
