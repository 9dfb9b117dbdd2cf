"""Hostile OpenAPI descriptions are refused with a reason before anything expands or walks them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from checks.api.check import run_api_check
from checks.api.spec import MAX_DEPTH, SpecError, parse_document
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
