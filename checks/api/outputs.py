"""Exports of a check report for other tools: SARIF 2.1.0 (code scanning) and JUnit XML (CI)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from checks.findings import CheckFinding, Severity
from checks.report import CheckReport
from posture import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def _location(finding: CheckFinding, artifact: str) -> dict[str, Any]:
    pointer = finding.evidence.get("pointer")
    operations = finding.evidence.get("operations") or []
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": artifact}}}
    names = [pointer] if pointer else operations
    if names:
        location["logicalLocations"] = [{"fullyQualifiedName": str(n)} for n in names[:10]]
    return location


def to_sarif(report: CheckReport, artifact: str) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in report.findings:
        rules.setdefault(
            finding.code,
            {
                "id": finding.code,
                "name": finding.code.replace("-", ""),
                "shortDescription": {"text": finding.title},
                "help": {"text": finding.advice},
                "properties": {
                    "severity": finding.severity.value,
                    "owasp": finding.evidence.get("owasp"),
                    "outcomes": finding.outcome_ids,
                },
            },
        )
        message = finding.title
        if finding.evidence.get("curl"):
            message += f"\nReproduce: {finding.evidence['curl']}"
        results.append(
            {
                "ruleId": finding.code,
                "level": SARIF_LEVEL[finding.severity],
                "message": {"text": message},
                "locations": [_location(finding, artifact)],
                "properties": {"evidence": finding.evidence},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "PoliceTech Assure",
                        "version": __version__,
                        "informationUri": "https://policetech-assure.example/",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
                "properties": {
                    "score": report.score,
                    "subscores": report.subscores,
                    "verdict": report.details.get("verdict"),
                },
            }
        ],
    }


def to_junit(report: CheckReport) -> str:
    """One test case per finding code, failed at medium severity or worse, plus the gate."""
    suite = ET.Element(
        "testsuite",
        name=f"assure-{report.kind}",
        timestamp=report.started_at.isoformat(),
        time=f"{(report.finished_at - report.started_at).total_seconds():.3f}",
    )
    failures = 0
    grouped: dict[str, list[CheckFinding]] = {}
    for finding in report.findings:
        grouped.setdefault(finding.code, []).append(finding)
    gate = ET.SubElement(suite, "testcase", classname=f"{report.kind}.gates", name="hard gates")
    if report.details.get("gate_failed"):
        failures += 1
        ET.SubElement(
            gate, "failure", message="gate failed: " + ", ".join(report.details["gate_failed"])
        )
    for code, items in sorted(grouped.items()):
        case = ET.SubElement(
            suite, "testcase", classname=f"{report.kind}.{code}", name=items[0].title
        )
        serious = [
            f for f in items if f.severity in {Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM}
        ]
        if serious:
            failures += 1
            failure = ET.SubElement(
                case, "failure", message=f"{len(items)} finding(s)", type=items[0].severity.value
            )
            failure.text = "\n".join(
                str(f.evidence.get("pointer") or f.evidence.get("operations") or "")
                + (f"\n  {f.evidence['curl']}" if f.evidence.get("curl") else "")
                for f in items[:50]
            )
    suite.set("tests", str(len(grouped) + 1))
    suite.set("failures", str(failures))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
