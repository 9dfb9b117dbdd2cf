"""The CBOM files the CBOM tests read: third-party ones in tests/data/cbom, cases written for
this project in tests/data/cbom/handwritten (each file's README line says what it holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checks.cbom import run_cbom_check
from checks.report import CheckReport

CBOMS = Path(__file__).resolve().parents[1] / "data" / "cbom"
HANDWRITTEN = CBOMS / "handwritten"
CYCLONEDX_EXAMPLES = sorted(p.name for p in CBOMS.glob("CBOM_*_bom.json"))


def run(path: Path) -> CheckReport:
    return run_cbom_check(path.read_bytes(), path.name)


def assets_by_ref(report: CheckReport) -> dict[str, dict[str, Any]]:
    return {asset["bom_ref"]: asset for asset in report.details["assets"]}


def assets_by_name(report: CheckReport) -> dict[str, dict[str, Any]]:
    return {asset["name"]: asset for asset in report.details["assets"]}


def finding_evidence(report: CheckReport, code: str) -> dict[str, Any]:
    found = [f for f in report.findings if f.code == code]
    assert found, f"{code} not raised: {[f.code for f in report.findings]}"
    return found[0].evidence


def codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def milestone(report: CheckReport, milestone_id: str) -> str:
    return next(m.status for m in report.milestones if m.id == milestone_id)
