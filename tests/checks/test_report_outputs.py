"""A report of any kind renders as SARIF 2.1.0, JUnit XML and the CLI's lines; the API check adds
its verdict and hard gates through its spec, and no other kind has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.catalogue import CheckKind
from checks.findings import finding
from checks.outputs import console_lines, to_junit, to_sarif
from checks.report import CheckReport
from tests.checks import sample_reports
from tests.checks.report_formats import assert_valid_sarif, junit_suite

KINDS = tuple(kind.value for kind in CheckKind)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CheckReport]:
    return sample_reports.every_kind(tmp_path_factory.mktemp("reports"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_sarif_with_a_result_per_finding(
    kind: str, fresh: dict[str, CheckReport]
) -> None:
    report = fresh[kind]
    assert report.findings, "the sample report should have findings to render"
    results = assert_valid_sarif(to_sarif(report))
    assert [r["ruleId"] for r in results] == [f.code for f in report.findings]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_junit_with_a_case_per_finding_code(
    kind: str, fresh: dict[str, CheckReport]
) -> None:
    report = fresh[kind]
    suite = junit_suite(to_junit(report))
    classnames = {case.get("classname") for case in suite.findall("testcase")}
    assert {f"{kind}.{f.code}" for f in report.findings} | {f"{kind}.status"} <= classnames


def test_a_finding_medium_or_worse_fails_its_case_and_a_lesser_one_passes(
    fresh: dict[str, CheckReport],
) -> None:
    suite = junit_suite(to_junit(fresh["ssh"]))
    failed = {case.get("classname") for case in suite.findall("testcase") if len(case)}
    assert "ssh.SSH-004" in failed  # a classically broken host key: high
    assert "ssh.SSH-006" not in failed  # post-quantum key exchange preferred: info


def test_the_api_check_adds_its_verdict_and_hard_gates(fresh: dict[str, CheckReport]) -> None:
    report = fresh["api"]
    sarif = to_sarif(report, "openapi.json")
    properties = sarif["runs"][0]["properties"]
    assert (properties["verdict"], properties["gate_failed"]) == ("fail", ["API-001"])
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "API-001"]
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "openapi.json"
    assert location["logicalLocations"] == [{"fullyQualifiedName": "/servers/0/url"}]
    gate = junit_suite(to_junit(report)).find("testcase[@name='hard gates']/failure")
    assert gate is not None
    assert gate.get("message") == "gate failed: API-001"
    lines = console_lines(report)
    assert lines[0].startswith(f"api check of {report.target}: completed, score ")
    assert "  verdict: fail (provisional)" in lines
    assert "  gates failed: API-001" in lines


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "api"])
def test_no_other_kind_has_a_verdict(kind: str, fresh: dict[str, CheckReport]) -> None:
    report = fresh[kind]
    assert "verdict" not in to_sarif(report)["runs"][0]["properties"]
    assert junit_suite(to_junit(report)).find("testcase[@name='hard gates']") is None
    lines = console_lines(report)
    assert lines[0].startswith(f"{kind} check of {report.target}: completed, post-quantum")
    assert not any("verdict" in line for line in lines)


def test_an_endpoint_is_named_by_a_uri_of_its_kind(fresh: dict[str, CheckReport]) -> None:
    (result, *_) = to_sarif(fresh["tls"])["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "tls://portal.example:443"


def test_an_unassessable_report_fails_its_status_case_and_prints_its_reason() -> None:
    findings = [finding("CBOM-004", detail="not JSON").model_dump()]
    report = sample_reports.unassessable("cbom", "broken.json", findings=findings)
    status = junit_suite(to_junit(report)).find("testcase[@classname='cbom.status']/failure")
    assert status is not None
    assert_valid_sarif(to_sarif(report))
    assert any("CBOM-004" in line for line in console_lines(report))


def test_a_run_of_a_kind_no_longer_in_the_catalogue_still_renders(
    fresh: dict[str, CheckReport],
) -> None:
    report = fresh["cert"].model_copy(update={"kind": "retired"})
    assert_valid_sarif(to_sarif(report))
    junit_suite(to_junit(report))


def test_a_finding_code_seen_many_times_is_one_line_with_its_count(tmp_path: Path) -> None:
    report = sample_reports.api(tmp_path)
    many = [f for f in report.findings if f.code == "API-001"] * 3
    lines = console_lines(report.model_copy(update={"findings": many}))
    (line,) = [line for line in lines if line.startswith("  [") and "API-001" in line]
    assert line.endswith("(3)")
