"""The project's YAML data files read the same through libyaml's safe loader (what
kernel/data_yaml.py uses, for start-up speed) as through PyYAML's pure-Python SafeLoader: the
same values of the same types, in the same order, for every file shipped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kernel.data_yaml import data_loader, load_data_yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kernel", "checks", "frameworks", "pq_crypto", "posture", "supplier_portal")
DATA_FILES = sorted(
    path.relative_to(ROOT)
    for package in PACKAGES
    for pattern in ("*.yaml", "*.yml")
    for path in (ROOT / package).rglob(pattern)
)


def test_the_data_files_are_found_and_libyaml_reads_them() -> None:
    names = {path.name for path in DATA_FILES}
    assert {"findings.yaml", "algorithms.yaml", "tls_clients.yaml"} <= names
    # Without libyaml every sandboxed check starts 0.16 s slower: a broken PyYAML build shows here.
    assert data_loader() is yaml.CSafeLoader


@pytest.mark.parametrize("relative", DATA_FILES, ids=str)
def test_a_data_file_reads_the_same_through_both_loaders(relative: Path) -> None:
    text = (ROOT / relative).read_text("utf-8")
    pure = yaml.load(text, Loader=yaml.SafeLoader)
    # repr tells True from 1, a date from its string and keeps key order, where == would not.
    assert repr(load_data_yaml(text)) == repr(pure)


@pytest.mark.parametrize(
    "text",
    ["a: [1, 2", "!!python/object/apply:os.system ['true']", "a: *missing", "\tb: 1"],
    ids=["unclosed", "python-tag", "unknown-alias", "tab-indent"],
)
def test_malformed_or_unsafe_yaml_is_refused_by_both_loaders(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.load(text, Loader=yaml.SafeLoader)
    with pytest.raises(yaml.YAMLError):
        load_data_yaml(text)
