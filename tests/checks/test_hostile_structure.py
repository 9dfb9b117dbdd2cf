"""A supplier writes the files the checks read: hostile structure gets a finding, never a crash.

Each check is called as the job worker calls it; a test fails if the check raises, and says which
finding should have carried the refusal.
"""

from __future__ import annotations

import copy
import json

import pytest

from checks.cbom import MAX_CBOM_BYTES, MAX_COMPONENT_NESTING, MAX_COMPONENTS, run_cbom_check
from checks.jwks import run_jwks_check
from checks.report import CheckReport, ReportStatus
from checks.safe_parse import InputRefused, Limit, Limits, json_depth, load_json
from tests.peers.cboms import unique_cbom

LIMITS = Limits(max_bytes=MAX_CBOM_BYTES)


def _cbom(components: list, **extra: object) -> bytes:
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, **extra}
    return json.dumps({**document, "components": components}).encode()


def _refusal(report: CheckReport, code: str) -> str:
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert [f.code for f in report.findings] == [code]
    return report.findings[0].evidence["detail"]


NESTED_ARRAYS = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECTS = b'{"a":' * 5_000 + b"1" + b"}" * 5_000
LONG_NUMBER = b'{"keys": [], "bomFormat": "CycloneDX", "n": ' + b"7" * 100_000 + b"}"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(NESTED_ARRAYS, "nested deeper than 64 levels", id="100k-nested-arrays"),
        pytest.param(NESTED_OBJECTS, "nested deeper than 64 levels", id="5k-nested-objects"),
        pytest.param(LONG_NUMBER, "longer than 100 characters", id="100k-digit-number"),
    ],
)
@pytest.mark.parametrize(
    ("check", "code"),
    [
        pytest.param(run_cbom_check, "CBOM-004", id="cbom"),
        pytest.param(run_jwks_check, "JWKS-005", id="jwks"),
    ],
)
def test_hostile_json_is_a_finding_with_the_reason(check, code, raw, reason) -> None:
    assert reason in _refusal(check(raw, "supplier.json"), code)


def test_a_cbom_nested_400_components_deep_is_refused_with_a_clear_reason() -> None:
    component: dict = {"type": "library", "name": "leaf"}
    for level in range(400):
        component = {"type": "library", "name": f"level-{level}", "components": [component]}
    detail = _refusal(run_cbom_check(_cbom([component]), "deep.json"), "CBOM-004")
    assert detail == "nested deeper than 64 levels"


def test_components_nested_past_the_component_limit_name_where() -> None:
    component: dict = {"type": "library", "name": "leaf"}
    for level in range(MAX_COMPONENT_NESTING):
        component = {"type": "library", "name": f"level-{level}", "components": [component]}
    detail = _refusal(run_cbom_check(_cbom([component]), "nested.json"), "CBOM-004")
    assert detail.startswith(f"components nested deeper than {MAX_COMPONENT_NESTING} levels at ")


def test_more_components_than_the_cap_are_refused_before_validation() -> None:
    components = [{"type": "library", "name": f"c{i}"} for i in range(MAX_COMPONENTS + 1)]
    detail = _refusal(run_cbom_check(_cbom(components), "many.json"), "CBOM-004")
    assert detail == f"more than {MAX_COMPONENTS} components"


def test_duplicate_components_are_still_refused_as_uniqueItems_would() -> None:
    asset = {"type": "cryptographic-asset", "name": "AES-128-GCM", "bom-ref": "aes"}
    reordered = {"bom-ref": "aes", "name": "AES-128-GCM", "type": "cryptographic-asset"}
    detail = _refusal(run_cbom_check(_cbom([asset, reordered]), "dup.json"), "CBOM-004")
    assert detail.startswith("/components/1 repeats /components/0")


def test_duplicates_inside_a_nested_component_list_are_refused_too() -> None:
    leaf = {"type": "library", "name": "leaf"}
    parent = {"type": "library", "name": "parent", "components": [leaf, dict(leaf)]}
    detail = _refusal(run_cbom_check(_cbom([parent]), "dup.json"), "CBOM-004")
    assert detail.startswith("/components/0/components/1 repeats /components/0/components/0")


def test_duplicates_only_json_schema_sees_as_equal_are_left_to_the_schema() -> None:
    # 1 and 1.0 are one JSON number to uniqueItems but two texts to the canonical-JSON set.
    level_one = {"assetType": "algorithm", "algorithmProperties": {"nistQuantumSecurityLevel": 1}}
    first = {"type": "cryptographic-asset", "name": "ML-KEM-512", "cryptoProperties": level_one}
    second = copy.deepcopy(first)
    second["cryptoProperties"]["algorithmProperties"]["nistQuantumSecurityLevel"] = 1.0
    detail = _refusal(run_cbom_check(_cbom([first, second]), "dup.json"), "CBOM-004")
    assert detail.startswith("fails the CycloneDX 1.6 schema at /components: ")
    assert detail.endswith("has non-unique elements")


@pytest.mark.slow
def test_a_cbom_of_unique_components_at_the_size_cap_is_accepted_and_classified() -> None:
    raw = unique_cbom(max_bytes=MAX_CBOM_BYTES)
    assert len(raw) > MAX_CBOM_BYTES - 4096
    report = run_cbom_check(raw, "estate.json")
    assert report.status is ReportStatus.COMPLETED, report.findings
    assert sum(report.details["counts"].values()) == raw.count(b'"cryptographic-asset"')


def test_brackets_and_escapes_inside_strings_do_not_count_as_nesting() -> None:
    quoted = json.dumps(["[" * 100, '\\"{{{{', "\\", {"k[": "]]]]\\"}]).encode()
    assert json_depth(quoted) == 2
    assert load_json(quoted, LIMITS)[0] == "[" * 100


def test_deep_json_in_utf_16_is_refused_too() -> None:
    with pytest.raises(InputRefused) as refused:
        load_json(("[" * 1000 + "]" * 1000).encode("utf-16"), LIMITS)
    assert refused.value.limit is Limit.DEPTH


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[NaN]", id="NaN"),
        pytest.param("[-Infinity]", id="Infinity"),
        pytest.param("[1e999]", id="overflow"),
    ],
)
def test_numbers_json_cannot_carry_are_refused(text: str) -> None:
    with pytest.raises(InputRefused) as refused:
        load_json(text, LIMITS)
    assert refused.value.limit is Limit.NUMBER_VALUE


def test_a_file_over_the_callers_size_cap_is_refused_before_parsing() -> None:
    with pytest.raises(InputRefused, match="larger than 10 bytes") as refused:
        load_json(b"[" + b"1," * 10 + b"1]", Limits(max_bytes=10))
    assert refused.value.limit is Limit.SIZE


def test_malformed_json_keeps_its_own_error_for_the_caller_to_word() -> None:
    with pytest.raises(json.JSONDecodeError):
        load_json(b'{"a": ', LIMITS)


def test_yaml_of_more_plain_nodes_than_the_limit_is_refused_while_composing() -> None:
    """Not an alias bomb: many small nodes. The count stops composing at the limit, so the tree
    of Python objects past it is never built."""
    from checks.safe_parse import load_yaml

    limits = Limits(max_bytes=10_000_000, max_expanded_nodes=1_000)
    assert len(load_yaml(b"- x\n" * 998, limits)) == 998  # the list node and 998 scalars
    with pytest.raises(InputRefused) as refused:
        load_yaml(b"- x\n" * 5_000, limits)
    assert refused.value.limit is Limit.EXPANDED_NODES
    assert "more than 1000 YAML nodes" in str(refused.value)
