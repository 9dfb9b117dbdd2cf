"""The shipped risk policy files load and agree; a hostile file (an alias bomb, ten megabytes,
deep nesting, a Python tag, not YAML at all) is refused whole, naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from frameworks.loader import FrameworkDataError
from frameworks.risk.policy import (
    RISK_DATA,
    RiskPolicy,
    ThreatCatalogue,
    load_risk_policy,
    read_risk_file,
    risk_policy,
)

THREATS = [
    "unauthorised-access",
    "data-breach",
    "service-loss",
    "supply-chain-compromise",
    "quantum-harvest-now-decrypt-later",
    "insider-misuse",
    "integrity-loss",
]


def _copy_shipped(folder: Path) -> None:
    for path in RISK_DATA.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())


def _refused(folder: Path, name: str, text: str | bytes) -> FrameworkDataError:
    _copy_shipped(folder)
    target = folder / name
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text, "utf-8")
    with pytest.raises(FrameworkDataError) as caught:
        load_risk_policy(folder)
    assert caught.value.path == target
    return caught.value


def test_the_shipped_policy_loads_and_is_cached() -> None:
    policy = risk_policy()
    assert isinstance(policy, RiskPolicy)
    assert policy.version == "1.0"
    assert risk_policy() is policy
    assert [threat.id for threat in policy.threats.threats] == THREATS
    assert policy.threats.threat("quantum-harvest-now-decrypt-later").name


def test_a_copy_of_the_shipped_files_loads_the_same(tmp_path: Path) -> None:
    _copy_shipped(tmp_path)
    assert load_risk_policy(tmp_path) == risk_policy()


def test_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    error = _refused(tmp_path, "threats-1.0.yaml", "\n".join(lines) + "\n")
    assert "alias bomb" in error.problem


def test_a_few_aliases_expanding_past_the_node_limit_are_refused(tmp_path: Path) -> None:
    wide = "[" + ", ".join(["x"] * 4000) + "]"
    text = f"version: '1.0'\nbase: &b {wide}\nthreats: [*b, *b, *b, *b, *b, *b, *b, *b]\n"
    error = _refused(tmp_path, "threats-1.0.yaml", text)
    assert "nodes" in error.problem


def test_a_ten_megabyte_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    text = "version: '1.0'\n# " + "x" * (10 * 1024 * 1024) + "\nthreats: []\n"
    error = _refused(tmp_path, "matrix-1.0.yaml", text)
    assert "larger than 1048576 bytes" in error.problem


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    error = _refused(tmp_path, "appetite-1.0.yaml", "a: " + "[" * 200 + "]" * 200 + "\n")
    assert "nested deeper" in error.problem


def test_a_python_object_tag_is_refused(tmp_path: Path) -> None:
    text = "version: !!python/object/apply:os.system ['true']\nthreats: []\n"
    error = _refused(tmp_path, "threats-1.0.yaml", text)
    assert "is not valid YAML" in error.problem


def test_broken_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    error = _refused(tmp_path, "likelihood-1.0.yaml", "version: '1.0'\nrules: [unclosed\n")
    assert error.location.startswith("line ")


def test_a_list_at_the_top_is_refused(tmp_path: Path) -> None:
    error = _refused(tmp_path, "threats-1.0.yaml", "- unauthorised-access\n")
    assert error.problem == "must be a mapping at the top level"


def test_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    error = _refused(tmp_path, "threats-1.0.yaml", b"version: '1.0'\nname: \xff\xfe\n")
    assert error.problem == "is not UTF-8 text"


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    _copy_shipped(tmp_path)
    (tmp_path / "likelihood-1.0.yaml").unlink()
    with pytest.raises(FrameworkDataError, match="cannot be read"):
        load_risk_policy(tmp_path)


def test_a_threat_named_twice_is_refused(tmp_path: Path) -> None:
    text = (RISK_DATA / "threats-1.0.yaml").read_text("utf-8")
    text = text.replace("  - id: integrity-loss", "  - id: data-breach")
    error = _refused(tmp_path, "threats-1.0.yaml", text)
    assert "duplicate id data-breach" in error.problem


def test_a_threat_without_a_description_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "threats-1.0.yaml"
    path.write_text(
        "version: '1.0'\nthreats:\n  - id: data-breach\n    name: Data breach\n", "utf-8"
    )
    with pytest.raises(FrameworkDataError) as caught:
        read_risk_file(path, ThreatCatalogue)
    assert caught.value.location == "threats[0](data-breach).description"
