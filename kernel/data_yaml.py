"""The platform's own YAML data files (catalogues, policy tables) read into plain data.

libyaml's safe loader (CSafeLoader) builds the same plain data as PyYAML's pure-Python
SafeLoader, ten times faster: the findings and algorithm catalogues alone took 0.16 s of every
sandboxed check's start-up through the pure-Python one. tests/test_data_yaml.py holds that every
shipped data file reads the same, value and type, through both. PyYAML built without libyaml
falls back to the pure-Python loader.

Only for the project's files: YAML a supplier sends goes through checks/safe_parse.py, which
bounds aliases, depth and size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml


def data_loader() -> type[yaml.SafeLoader]:
    # PyYAML is imported on first use: a process that reads no data file (`assure check tls`
    # before its sandbox child) does not load it.
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def load_data_yaml(text: str) -> Any:
    """The document in `text` as plain data (dicts, lists, strings, numbers, dates), as
    yaml.safe_load would read it."""
    import yaml

    return yaml.load(text, Loader=data_loader())  # noqa: S506 (a safe loader: no Python objects)
