"""Find and load the liboqs C library for liboqs-python: once per process, never downloading.

liboqs-python, when it cannot load liboqs, counts down five seconds, runs `git clone` and CMake
to build it, and ends with SystemExit, which `except Exception` does not stop. So liboqs is
located and loaded here with ctypes first (a real dlopen and a check of the symbols every liboqs
exports), liboqs-python is pointed at exactly that file, and `oqs` is imported only then, with
program launches and network connections refused and its console output captured. The outcome,
good or bad, is kept for the life of the process: a failed import is never retried. A failure
leaves the process as it found it: the environment, stdout and stderr restored, no half-imported
`oqs` in sys.modules, no handler of liboqs-python's on a dead buffer, and a library that is not
liboqs unloaded.
"""

from __future__ import annotations

import _ctypes
import contextlib
import ctypes
import ctypes.util
import importlib
import io
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import ClassVar

from pq_crypto.import_guard import no_launch_or_network

ENV_LIBRARY = "ASSURE_LIBOQS"
SWITCHED_OFF = {"off", "none", "false", "0"}
# Exported by every liboqs build; a file without them is not liboqs.
REQUIRED_SYMBOLS = ("OQS_init", "OQS_version", "OQS_KEM_new", "OQS_SIG_new")
LIBRARY_FILE = "liboqs.dylib" if sys.platform == "darwin" else "liboqs.so"
# Where `cmake --install` puts liboqs with the default prefix; read without ldconfig.
SYSTEM_ROOTS = ("/usr/local",)
OQS_LOGGER = "oqs.oqs"  # liboqs-python's logger, which it gives a handler on stdout at import
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    path: str  # a file, or a soname the system linker resolves
    source: str  # what pointed at it, for the status line


@dataclass(frozen=True)
class LiboqsStatus:
    candidate: Candidate | None
    module: ModuleType | None = None
    version: str | None = None
    file: str | None = None  # the file loaded, once it loaded
    reason: str | None = None  # why it cannot be used; None when it can
    warnings: tuple[str, ...] = ()  # what liboqs-python warned on import (a version mismatch)

    @property
    def available(self) -> bool:
        return self.module is not None

    def describe(self) -> str:
        if self.reason is not None:
            return self.reason
        assert self.candidate is not None
        said = "".join(f"; liboqs-python warned: {w}" for w in self.warnings)
        return f"liboqs {self.version} at {self.file} ({self.candidate.source}){said}"


def locate(environ: Mapping[str, str]) -> Candidate | None:
    """The library to use: ASSURE_LIBOQS if set, else where liboqs-python and CMake put it."""
    configured = environ.get(ENV_LIBRARY, "").strip()
    if configured:
        # An install prefix given instead of the file: take the library in it.
        inside = next(_files_under(configured), None) if Path(configured).is_dir() else None
        return Candidate(inside or configured, ENV_LIBRARY)
    roots = [(environ.get("OQS_INSTALL_PATH", ""), "OQS_INSTALL_PATH")]
    with contextlib.suppress(RuntimeError, KeyError):  # no home directory
        roots.append((str(Path.home() / "_oqs"), "liboqs-python's default ~/_oqs"))
    for root, source in roots:
        for found in _files_under(root):
            return Candidate(found, source)
    try:
        soname = ctypes.util.find_library("oqs")
    # It runs ldconfig, which a sandboxed check may not start.
    except Exception:
        soname = None
    if soname:
        return Candidate(soname, "the system linker's path")
    for root in SYSTEM_ROOTS:
        for found in _files_under(root):
            return Candidate(found, f"{root}, not on the linker's path")
    return None


def _files_under(root: str) -> Iterator[str]:
    if root:
        for sub in ("lib", "lib64"):
            path = Path(root) / sub / LIBRARY_FILE
            if path.exists():
                yield str(path)


@dataclass(frozen=True)
class _Opened:
    library: ctypes.CDLL
    version: str
    file: str  # the file the dynamic loader actually mapped


def _open(candidate: Candidate) -> _Opened | str:
    """The loaded library, or why it cannot be loaded."""
    path = candidate.path
    where = f"liboqs at {path} ({candidate.source})"
    if "/" in path and not Path(path).is_file():
        return f"{where} does not exist or is not a file"
    try:
        library = ctypes.CDLL(path)
    except OSError as exc:
        return f"{where} cannot be loaded: {exc}"
    missing = [name for name in REQUIRED_SYMBOLS if not hasattr(library, name)]
    if missing:
        _close(library)
        return f"{where} cannot be loaded: it lacks {', '.join(missing)}, so it is not liboqs"
    library.OQS_version.restype = ctypes.c_char_p
    version = (library.OQS_version() or b"?").decode("ascii", "replace")
    return _Opened(library, version, _mapped_file(library) or path)


class _DlInfo(ctypes.Structure):
    _fields_: ClassVar = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def _mapped_file(library: ctypes.CDLL) -> str | None:
    """The file a loaded library came from (a soname from the linker's path becomes a path)."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except (OSError, AttributeError):
        return None
    info = _DlInfo()
    if not dladdr(ctypes.c_void_p(_address(library, "OQS_version")), ctypes.byref(info)):
        return None
    return os.fsdecode(info.dli_fname) if info.dli_fname else None


@contextlib.contextmanager
def _pointed_at(path: str) -> Iterator[None]:
    """liboqs-python loads <OQS_INSTALL_PATH>/lib/liboqs.so (after the linker's own search), so
    point it at the folder holding this file, or at a private folder linking to it."""
    file = Path(path).absolute()
    with contextlib.ExitStack() as stack:
        if file.name == LIBRARY_FILE and file.parent.name in ("lib", "lib64"):
            root = file.parent.parent
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="assure-oqs-")))
            (root / "lib").mkdir()
            (root / "lib" / LIBRARY_FILE).symlink_to(file.resolve())
        previous = os.environ.get("OQS_INSTALL_PATH")
        os.environ["OQS_INSTALL_PATH"] = str(root)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("OQS_INSTALL_PATH", None)
            else:
                os.environ["OQS_INSTALL_PATH"] = previous


@contextlib.contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    """liboqs-python logs to stdout on import and warns on a version mismatch; keep it for the
    debug log rather than a command's output."""
    buffer = io.StringIO()
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
        ):
            warnings.simplefilter("always")
            try:
                yield buffer
            finally:
                buffer.writelines(f"warning: {w.message}\n" for w in caught)
    finally:
        # Its logger keeps a handler on the buffer (it binds sys.stdout at import), even when
        # the import fails: drop it, so later messages go through logging like any library's
        # and nothing writes to a buffer nobody reads.
        oqs_logger = logging.getLogger(OQS_LOGGER)
        for handler in list(oqs_logger.handlers):
            if getattr(handler, "stream", None) is buffer:
                oqs_logger.removeHandler(handler)


def _forget_oqs(modules: set[str], logger_level: int) -> None:
    """Undo what a failed import of liboqs-python left behind: a half-initialised `oqs` in
    sys.modules (an `import oqs` elsewhere would get it without its error) and the level it set
    on its logger."""
    for name in [n for n in sys.modules if n not in modules]:
        if name == "oqs" or name.startswith("oqs."):
            del sys.modules[name]
    logging.getLogger(OQS_LOGGER).setLevel(logger_level)


def _close(library: ctypes.CDLL) -> None:
    """Unload a library this probe loaded and will not use, so a file that is not liboqs does
    not stay mapped in the process. liboqs-python's own handle, if it made one, keeps it."""
    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        with contextlib.suppress(OSError):
            close(library._handle)


def _import_oqs(opened: _Opened) -> tuple[ModuleType, tuple[str, ...]] | str:
    """liboqs-python imported against the opened library, with what it warned; or why not."""
    where = f"liboqs at {opened.file}"
    chatter = io.StringIO()
    found = set(sys.modules), logging.getLogger(OQS_LOGGER).level
    try:
        with _pointed_at(opened.file), _captured_output() as chatter, no_launch_or_network():
            module = importlib.import_module("oqs")
        loaded = module.native()
    except KeyboardInterrupt:
        _forget_oqs(*found)
        raise
    # SystemExit from its installer, AttributeError from a liboqs older than liboqs-python
    # expects or from another package named `oqs`, DownloadRefused from the guard: any of them
    # leaves the backend unavailable.
    except BaseException as exc:
        _forget_oqs(*found)
        log.debug("liboqs-python import output: %s", chatter.getvalue())
        return f"liboqs-python cannot use {where}: {type(exc).__name__}: {exc}"
    output = chatter.getvalue()
    log.debug("liboqs-python import output: %s", output)
    if _address(loaded, "OQS_version") != _address(opened.library, "OQS_version"):
        _forget_oqs(*found)
        return (
            f"liboqs-python loaded {getattr(loaded, '_name', 'another file')}, not "
            f"{opened.file}: set {ENV_LIBRARY} to the one to use, or remove the other"
        )
    said = tuple(line[9:] for line in output.splitlines() if line.startswith("warning: "))
    return module, said


def _address(library: ctypes.CDLL, symbol: str) -> int | None:
    return ctypes.cast(getattr(library, symbol), ctypes.c_void_p).value


def _probe(environ: Mapping[str, str]) -> LiboqsStatus:
    """Locate, load and import, without caching: `liboqs_status()` is the one to call."""
    if environ.get(ENV_LIBRARY, "").strip().lower() in SWITCHED_OFF:
        return LiboqsStatus(None, reason=f"the liboqs backend is switched off ({ENV_LIBRARY})")
    candidate = locate(environ)
    if candidate is None:
        return LiboqsStatus(
            None,
            reason=(
                "the liboqs C library is not installed (looked in $OQS_INSTALL_PATH/lib, "
                "~/_oqs/lib, the linker's path and /usr/local/lib); build it and set "
                f"{ENV_LIBRARY} (README: liboqs)"
            ),
        )
    opened = _open(candidate)
    if isinstance(opened, str):
        return LiboqsStatus(candidate, reason=opened)
    imported = _import_oqs(opened)
    if isinstance(imported, str):
        _close(opened.library)
        return LiboqsStatus(candidate, version=opened.version, file=opened.file, reason=imported)
    module, said = imported
    return LiboqsStatus(candidate, module, opened.version, opened.file, warnings=said)


_probe_lock = threading.Lock()


@cache
def _probe_once() -> LiboqsStatus:
    return _probe(os.environ)


def liboqs_status() -> LiboqsStatus:
    """The liboqs backend's state in this process, probed on first use and then kept."""
    with _probe_lock:
        return _probe_once()
