"""This release's version, read from the installed package so pyproject.toml states it once."""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "policetech-assure"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
