"""A check report in the forms other tools and people read: SARIF 2.1.0 (code scanning), JUnit XML
(CI) and the lines of the CLI's human output.

Every kind of check gets all three from its findings (code, severity, title, evidence, advice),
its score and sub-scores. A kind adds what is its own through its spec (`console`, `junit`,
`sarif`): the API check's verdict and hard gates. Evidence keys that say where a finding is
(`pointer` into the artifact, `operations` of an API, `certificate` of a chain) become SARIF
logical locations, and `curl` a way to reproduce it, whichever check wrote them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from checks.catalogue import CheckSpec, InputKind, UnknownCheckKind, spec_for
from checks.findings import SEVERITY_RANK, CheckFinding, Severity
from checks.report import CheckReport, ReportStatus
from kernel.version import __version__

TOOL_NAME = "PoliceTech Assure"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# A code with a finding this severe fails its JUnit test case; below it the case passes.
FAILING = frozenset({Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM})
LOCATION_KEYS = ("pointer", "operations", "certificate")
MAX_LOCATIONS = 10
MAX_FAILURE_LINES = 50


@dataclass(frozen=True)
class JUnitCase:
    """A test case a kind of check adds to its JUnit report; `failure` is the failure's
    message, None when the case passed."""

    classname: str
    name: str
    failure: str | None = None
    text: str = ""


def _spec(kind: str) -> CheckSpec | None:
    try:
        return spec_for(kind)
    except UnknownCheckKind:
        return None  # a stored run of a kind no longer in the catalogue renders without extras


def _by_code(findings: list[CheckFinding]) -> dict[str, list[CheckFinding]]:
    """The findings per code, the code with the most severe finding first."""
    grouped: dict[str, list[CheckFinding]] = {}
    for finding in findings:
        grouped.setdefault(finding.code, []).append(finding)
    worst = {code: max(SEVERITY_RANK[f.severity] for f in items) for code, items in grouped.items()}
    return {code: grouped[code] for code in sorted(grouped, key=lambda c: (-worst[c], c))}


def _locations(finding: CheckFinding) -> list[str]:
    for key in LOCATION_KEYS:
        value = finding.evidence.get(key)
        if value:
            names = value if isinstance(value, list) else [value]
            return [str(name) for name in names[:MAX_LOCATIONS]]
    return []


def _sarif_rule(finding: CheckFinding) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "outcomes": finding.outcome_ids,
    }
    if finding.evidence.get("owasp"):
        properties["owasp"] = finding.evidence["owasp"]
    return {
        "id": finding.code,
        "name": finding.code.replace("-", ""),
        "shortDescription": {"text": finding.title},
        "help": {"text": finding.advice},
        "properties": properties,
    }


def _sarif_result(finding: CheckFinding, artifact: str) -> dict[str, Any]:
    message = finding.title
    if finding.evidence.get("curl"):
        message += f"\nReproduce: {finding.evidence['curl']}"
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": artifact}}}
    names = _locations(finding)
    if names:
        location["logicalLocations"] = [{"fullyQualifiedName": name} for name in names]
    return {
        "ruleId": finding.code,
        "level": SARIF_LEVEL[finding.severity],
        "message": {"text": message},
        "locations": [location],
        "properties": {"evidence": finding.evidence},
    }


def artifact_uri(report: CheckReport) -> str:
    """What a report's SARIF results point at when the caller names nothing better: an
    endpoint as a URI of its kind (host:port alone would read as a URI scheme), else the
    target (a file's name, or a URL)."""
    spec = _spec(report.kind)
    if spec is not None and spec.input is InputKind.ENDPOINT and "://" not in report.target:
        return f"{report.kind}://{report.target}"
    return report.target


def to_sarif(report: CheckReport, artifact: str | None = None) -> dict[str, Any]:
    """The report as one SARIF run: a rule per finding code, a result per finding."""
    artifact = artifact or artifact_uri(report)
    rules: dict[str, dict[str, Any]] = {}
    for finding in report.findings:
        rules.setdefault(finding.code, _sarif_rule(finding))
    properties: dict[str, Any] = {
        "kind": report.kind,
        "target": report.target,
        "status": report.status.value,
        "score": report.score,
        "subscores": report.subscores,
    }
    spec = _spec(report.kind)
    if spec is not None and spec.sarif is not None:
        properties.update(spec.sarif(report))
    driver = {
        "name": TOOL_NAME,
        "version": __version__,
        "informationUri": "https://policetech-assure.example/",
        "rules": list(rules.values()),
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "results": [_sarif_result(f, artifact) for f in report.findings],
                "properties": properties,
            }
        ],
    }


def _finding_line(finding: CheckFinding) -> str:
    where = ", ".join(_locations(finding))
    if finding.evidence.get("curl"):
        where += f"\n  {finding.evidence['curl']}"
    return where


def junit_cases(report: CheckReport) -> list[JUnitCase]:
    """Whether the report could be assessed, the kind's own cases, then one case per finding
    code, failed at medium severity or worse."""
    assessable = JUnitCase(
        f"{report.kind}.status",
        "assessable",
        "the target could not be assessed"
        if report.status is ReportStatus.NOT_ASSESSABLE
        else None,
    )
    cases = [assessable]
    spec = _spec(report.kind)
    if spec is not None and spec.junit is not None:
        cases.extend(spec.junit(report))
    for code, items in _by_code(report.findings).items():
        serious = [f for f in items if f.severity in FAILING]
        cases.append(
            JUnitCase(
                f"{report.kind}.{code}",
                items[0].title,
                f"{len(items)} finding(s)" if serious else None,
                "\n".join(_finding_line(f) for f in items[:MAX_FAILURE_LINES]),
            )
        )
    return cases


def to_junit(report: CheckReport) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"assure-{report.kind}",
        timestamp=report.started_at.isoformat(),
        time=f"{(report.finished_at - report.started_at).total_seconds():.3f}",
    )
    cases = junit_cases(report)
    for case in cases:
        element = ET.SubElement(suite, "testcase", classname=case.classname, name=case.name)
        if case.failure is not None:
            failure = ET.SubElement(element, "failure", message=case.failure)
            failure.text = case.text
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(case.failure is not None for case in cases)))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def console_lines(report: CheckReport) -> list[str]:
    """The report for a person at a terminal: the score and its parts, the milestones, what
    the kind adds, and each finding code, most severe first."""
    spec = _spec(report.kind)
    score = "n/a" if report.score is None else f"{report.score:g}"
    measure = "post-quantum readiness" if spec is not None and spec.post_quantum else "score"
    lines = [f"{report.kind} check of {report.target}: {report.status.value}, {measure} {score}"]
    for name, value in report.subscores.items():
        lines.append(f"  {name}: {'not assessed' if value is None else f'{value:g}'}")
    for milestone in report.milestones:
        lines.append(f"  {milestone.id} ({milestone.date}): {milestone.status}")
    if spec is not None and spec.console is not None:
        lines.extend(f"  {line}" for line in spec.console(report))
    for code, items in _by_code(report.findings).items():
        worst = max(items, key=lambda f: SEVERITY_RANK[f.severity])
        count = f" ({len(items)})" if len(items) > 1 else ""
        lines.append(f"  [{worst.severity.value:<8}] {code:<14} {items[0].title}{count}")
    return lines
