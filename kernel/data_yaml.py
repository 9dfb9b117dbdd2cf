"""The platform's own YAML data files (catalogues, policy tables) read into plain data.

libyaml's safe loader (CSafeLoader) builds the same plain data as PyYAML's pure-Python
SafeLoader, ten times faster: the findings and algorithm catalogues alone took 0.16 s of every
sandboxed check's start-up through the pure-Python one. tests/test_data_yaml.py holds that every
shipped data file reads the same, value and type, through both. PyYAML built without libyaml
falls back to the pure-Python loader.

Even so, importing PyYAML and parsing the same few files took about 25 ms of every TLS check's
start-up. So what a text parses to is also kept, as Python keeps bytecode: in
`__pycache__` beside this module (or under `sys.pycache_prefix`), marshalled, in a file named by
a hash of the text, the PyYAML installed and the marshal format, so an edited data file or a
new PyYAML is parsed afresh. Nothing is written where bytecode would not be
(`sys.dont_write_bytecode`), a read-only install simply parses every time, and an unreadable
entry is parsed again. The entry holds only what the project's own text parsed to, so it is as
trusted as the bytecode beside it (`tests/test_data_yaml_cache.py`).

Only for the project's files: YAML a supplier sends goes through checks/safe_parse.py, which
bounds aliases, depth and size.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.util
import marshal
import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

# Bumped when what an entry holds changes shape.
CACHE_FORMAT = 1
# marshal has no dates: a date or timestamp is kept as a 3-tuple starting with this, a shape the
# safe loader never builds (its only tuples are the pairs of !!omap and !!pairs).
_DATE_MARK = "\x00data_yaml.date"
_PLAIN = (str, int, float, bool, type(None))


def data_loader() -> type[yaml.SafeLoader]:
    # PyYAML is imported on first use: a process that reads no data file (`assure check tls`
    # before its sandbox child) does not load it, nor one whose files are all in the cache.
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def load_data_yaml(text: str) -> Any:
    """The document in `text` as plain data (dicts, lists, strings, numbers, dates), as
    yaml.safe_load would read it."""
    path = cache_path(text)
    if path is not None:
        found = _read_entry(path)
        if found is not None:
            return found[0]
    import yaml

    data = yaml.load(text, Loader=data_loader())  # noqa: S506 (a safe loader: no Python objects)
    if path is not None and not sys.dont_write_bytecode:
        _write_entry(path, data)
    return data


@cache
def _pyyaml_installed() -> str | None:
    """Which PyYAML this process would parse with (its file, when it was written, its size),
    found without importing it; None when there is none."""
    found = importlib.util.find_spec("yaml")
    if found is None or found.origin is None:
        return None
    try:
        installed = os.stat(found.origin)
    except OSError:
        return None
    return f"{found.origin}|{installed.st_mtime_ns}|{installed.st_size}"


def cache_path(text: str) -> Path | None:
    """Where what `text` parses to is kept; None when PyYAML is not installed."""
    pyyaml = _pyyaml_installed()
    if pyyaml is None:
        return None
    digest = hashlib.sha256(f"{CACHE_FORMAT}|{marshal.version}|{pyyaml}|".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    if sys.pycache_prefix:
        folder = Path(sys.pycache_prefix) / "assure-data-yaml"
    else:
        folder = Path(__file__).resolve().with_name("__pycache__")
    return folder / f"data_yaml.{digest.hexdigest()}.marshal"


def _encode(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {_encode(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_encode(item) for item in value)
    if isinstance(value, datetime.datetime):
        return (_DATE_MARK, "datetime", value.isoformat())
    if isinstance(value, datetime.date):
        return (_DATE_MARK, "date", value.isoformat())
    raise TypeError(f"{type(value).__name__} is not kept in the data cache")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        return {_decode(k): _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, tuple):
        if len(value) == 3 and value[0] == _DATE_MARK:
            if value[1] == "datetime":
                return datetime.datetime.fromisoformat(value[2])
            return datetime.date.fromisoformat(value[2])
        return tuple(_decode(item) for item in value)
    return value


def _read_entry(path: Path) -> tuple[Any] | None:
    """(the data,) kept at `path`, or None when there is none or it is unreadable."""
    try:
        raw = path.read_bytes()
        # Written by this module only, beside the bytecode Python itself unmarshals alike.
        name, data = marshal.loads(raw)  # noqa: S302
        if name != path.name:  # an entry copied or renamed from another text
            return None
        return (_decode(data),)
    except (OSError, EOFError, ValueError, TypeError, RecursionError):
        return None


def _write_entry(path: Path, data: Any) -> None:
    try:
        payload = marshal.dumps((path.name, _encode(data)))
    except (TypeError, ValueError):
        return  # something marshal cannot keep: this text is parsed every time
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o755, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
        # Whole or not at all: a process reading the entry meanwhile sees the old one or none.
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):  # the folder may not even be one
            temporary.unlink()
