"""A toy kind of check, whole in this one module: it reads a text file and finds the DRAFT
lines left in it. tests/checks/test_check_catalogue.py registers it to show that a check is
one module.

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
    if "CRASH" in lines:  # stands for a check's own bug, for the sandbox's tests
        raise LookupError("the toy check tripped over its own feet")
    drafts = [number for number, line in enumerate(lines, 1) if "DRAFT" in line]
    now = datetime.now(UTC)
    return CheckReport(
        kind=KIND,
        target=name,
        started_at=now,
        finished_at=now,
        status=ReportStatus.COMPLETED,
        score=0.0 if drafts else 100.0,
        findings=[finding("TOY-001", lines=drafts)] if drafts else [],
        details={"lines": len(lines)},
    )


SPEC = CheckSpec(
    kind=KIND,
    label="Toy text file (DRAFT lines left)",
    summary="Find the DRAFT lines left in a text file.",
    input=InputKind.FILE,
    input_help="A UTF-8 text file.",
    run=run,
    post_quantum=False,
    findings={
        "TOY-001": FindingText(
            severity=Severity.LOW,
            title="The file still has DRAFT lines",
            advice="Do what each DRAFT line says, or remove it.",
        )
    },
)
