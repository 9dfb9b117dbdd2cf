"""Hostile OpenAPI descriptions are refused with a reason before anything expands or walks them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from checks.api.check import run_api_check
from checks.api.model import METHODS
from checks.api.spec import (
    MAX_DEPTH,
    MAX_OPERATIONS,
    VALIDATION_SECONDS,
    SpecError,
    count_operations,
    load_spec,
    parse_document,
)
from checks.egress import EgressPolicy
from checks.report import ReportStatus
from checks.safe_parse import InputRefused, Limit
from tests.peers.apis import build_spec


def _billion_laughs() -> bytes:
    """81 aliases, nine a level for nine levels: 9**10 scalars (3.4 billion) once expanded."""
    lines = ["openapi: 3.0.3", "a0: &a0 [" + ", ".join(["x"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines).encode()


def _reason(raw: bytes) -> SpecError:
    with pytest.raises(SpecError) as refused:
        parse_document(raw)
    assert isinstance(refused.value.__cause__, InputRefused)
    return refused.value


def test_the_536_byte_alias_bomb_is_refused_without_being_expanded() -> None:
    bomb = _billion_laughs()
    assert (len(bomb), bomb.count(b"*")) == (536, 81)
    started = time.perf_counter()
    refused = _reason(bomb)
    assert time.perf_counter() - started < 1
    assert "expands to more than" in str(refused)
    assert refused.__cause__.limit is Limit.EXPANDED_NODES


def test_the_alias_bomb_is_a_not_assessable_report_not_a_crash(tmp_path: Path) -> None:
    source = tmp_path / "bomb.yaml"
    source.write_bytes(_billion_laughs())
    report = run_api_check(str(source), EgressPolicy())
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert "alias bomb" in report.findings[0].evidence["errors"][0]


def test_a_yaml_alias_inside_its_own_anchor_is_refused() -> None:
    refused = _reason(b"openapi: 3.0.3\nloop: &loop {again: *loop}\n")
    assert refused.__cause__.limit is Limit.RECURSIVE_ALIAS


def test_aliases_that_nest_past_the_depth_limit_once_expanded_are_refused() -> None:
    # Each anchor is shallow where it is written; only the expansion is deep.
    lines = ["openapi: 3.0.3", "d0: &d0 [[[x]]]"]
    lines += [f"d{i}: &d{i} [[[*d{i - 1}]]]" for i in range(1, 90)]
    refused = _reason("\n".join(lines).encode())
    assert str(refused) == f"nested deeper than {MAX_DEPTH} levels once YAML aliases are expanded"


def test_a_description_that_shares_schemas_through_aliases_still_loads() -> None:
    text = "openapi: 3.0.3\nshared: &s {type: string}\nuses: [*s, *s, *s]\n"
    assert parse_document(text.encode())["uses"] == [{"type": "string"}] * 3


def test_a_json_description_nested_100k_deep_is_refused_before_parsing() -> None:
    refused = _reason(b'{"openapi": "3.0.3", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert str(refused) == f"nested deeper than {MAX_DEPTH} levels"


def test_a_json_description_with_a_100k_digit_number_is_refused() -> None:
    refused = _reason(b'{"openapi": "3.0.3", "maximum": ' + b"9" * 100_000 + b"}")
    assert refused.__cause__.limit is Limit.NUMBER_LENGTH


def test_a_yaml_description_with_a_100k_digit_number_is_refused() -> None:
    refused = _reason(b"openapi: 3.0.3\nmaximum: " + b"9" * 100_000 + b"\n")
    assert refused.__cause__.limit is Limit.NUMBER_LENGTH


def test_an_impossible_yaml_date_is_invalid_yaml_not_a_crash() -> None:
    with pytest.raises(SpecError, match="not valid YAML or JSON: a value cannot be read"):
        parse_document(b"openapi: 3.0.3\nreleased: 2024-13-45\n")


def test_a_description_that_is_not_utf_8_says_so() -> None:
    with pytest.raises(SpecError, match="not UTF-8 text"):
        parse_document(b"openapi: 3.0.3\ntitle: \xff\xfe\n")


def test_an_ordinary_json_description_parses_as_before() -> None:
    spec = build_spec(False)
    assert parse_document(json.dumps(spec).encode()) == spec


def _many_operations(count: int) -> dict:
    """The well-behaved description with `count` more operations, two to a path."""
    spec = build_spec(False)
    template = json.dumps(spec["paths"]["/v1/notes"])
    for index in range(count // 2):
        item = json.loads(template)
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                operation["operationId"] += f"_{index}"
        spec["paths"][f"/v1/generated{index}"] = item
    return spec


def test_a_description_with_6000_operations_is_refused_before_validation(tmp_path: Path) -> None:
    source = tmp_path / "huge.json"
    # Compact, so it stays under the size cap (25 MiB) and it is the operations that are refused.
    source.write_text(json.dumps(_many_operations(6000), separators=(",", ":")))
    started = time.perf_counter()
    report = run_api_check(str(source), EgressPolicy())
    elapsed = time.perf_counter() - started
    print(f"6000 operations refused in {elapsed:.2f}s")
    assert elapsed < 10
    assert report.status is ReportStatus.NOT_ASSESSABLE
    [limit] = report.findings
    assert limit.code == "INPUT-LIMIT"
    assert limit.evidence["limit"] == "operations"
    assert "6006 operations" in limit.evidence["detail"]


def _shared_path_item(version: str, paths: int) -> dict[str, object]:
    """One path item of eight operations, and `paths` paths that are a $ref to it: about 40
    bytes a path, eight operations each once the refs are followed (as schemathesis does)."""
    ok = {"responses": {"200": {"description": "ok"}}}
    item = {method: ok for method in METHODS}
    spec: dict[str, object] = {"openapi": version, "info": {"title": "t", "version": "1"}}
    if version.startswith("3.1"):
        spec["components"] = {"pathItems": {"x": item}}
        target = "#/components/pathItems/x"
    else:  # 3.0 has no pathItems: a $ref to another path's item does the same
        target = "#/paths/~1x"
    refs = {f"/p{index}": {"$ref": target} for index in range(paths)}
    spec["paths"] = {"/x": item, **refs} if target.startswith("#/paths") else refs
    return spec


@pytest.mark.parametrize("version", ["3.1.0", "3.0.3"])
def test_path_item_refs_cannot_carry_more_operations_than_the_cap(
    tmp_path: Path, version: str
) -> None:
    # Before: the cap counted the methods written under each path, none for a $ref, so this
    # 30 kB file went on to validation and schemathesis as 5,000-odd operations.
    paths = MAX_OPERATIONS // len(METHODS) + 1
    source = tmp_path / "refs.json"
    source.write_text(json.dumps(_shared_path_item(version, paths), separators=(",", ":")))
    assert source.stat().st_size < 32_000
    started = time.perf_counter()
    report = run_api_check(str(source), EgressPolicy())
    assert time.perf_counter() - started < 5
    assert report.status is ReportStatus.NOT_ASSESSABLE
    [limit] = report.findings
    assert (limit.code, limit.evidence["limit"]) == ("INPUT-LIMIT", "operations")
    assert (
        f"{count_operations(_shared_path_item(version, paths))} operations"
        in (limit.evidence["detail"])
    )


def test_path_item_refs_are_counted_once_each_and_cycles_end() -> None:
    spec = _shared_path_item("3.1.0", 3)
    assert count_operations(spec) == 3 * len(METHODS)
    spec["paths"] = {"/a": {"$ref": "#/paths/~1b"}, "/b": {"$ref": "#/paths/~1a"}}
    assert count_operations(spec) == 0
    spec["paths"] = {"/a": {"$ref": "#/nowhere"}}
    assert count_operations(spec) == 0


def test_validation_stops_at_its_time_limit_with_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("checks.api.spec.VALIDATION_SECONDS", 0.5)
    source = tmp_path / "large.json"
    source.write_text(json.dumps(_many_operations(2000)))
    started = time.perf_counter()
    report = run_api_check(str(source), EgressPolicy())
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"took {elapsed:.1f}s"
    [limit] = report.findings
    assert (limit.code, limit.evidence["limit"]) == ("INPUT-LIMIT", "time")
    assert "did not finish within 0.5s" in limit.evidence["detail"]


def test_a_large_genuine_description_validates_within_the_limit_and_records_its_time(
    tmp_path: Path,
) -> None:
    source = tmp_path / "large.json"
    source.write_text(json.dumps(_many_operations(2000)))
    spec = load_spec(str(source), EgressPolicy())
    print(f"2006 operations validated in {spec.validation_seconds}s")
    assert spec.valid
    assert spec.validation_seconds is not None
    assert 0 < spec.validation_seconds < VALIDATION_SECONDS
