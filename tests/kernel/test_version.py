"""The version is stated once, in pyproject.toml, and every reader gets it from there."""

import tomllib
from pathlib import Path

from kernel.version import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_pyprojects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert __version__ == project["version"]
