"""What every SARIF and JUnit export must be, checked on its structure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

LEVELS = {"error", "warning", "note", "none"}


def assert_valid_sarif(document: dict[str, Any]) -> list[dict[str, Any]]:
    """SARIF 2.1.0's required structure; the results of its one run."""
    assert document["version"] == "2.1.0"
    assert document["$schema"].endswith("sarif-2.1.0.json")
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"]
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert result["level"] in LEVELS
        assert result["message"]["text"]
        for location in result["locations"]:
            assert location["physicalLocation"]["artifactLocation"]["uri"]
    return run["results"]


def junit_suite(text: str) -> ET.Element:
    suite = ET.fromstring(text.encode())
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "-1")) == len(cases)
    assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure"))
    return suite
