"""Refuse program launches and network connections in one thread for the length of a block.

liboqs-python's import runs its installer (git, CMake, a download) when it cannot load liboqs;
whatever the loader checked first, that must never happen, so the import runs inside this guard.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from kernel.process_events import PROCESS_EVENTS

# What liboqs-python's installer does: start programs (git, cmake) and reach the network.
REFUSED_EVENTS = frozenset({*PROCESS_EVENTS, "socket.connect", "socket.getaddrinfo"})


class DownloadRefused(RuntimeError):
    """liboqs-python tried to start a program or open a connection while being imported."""


_guarded_threads: set[int] = set()
_hook_lock = threading.Lock()
_hook_installed = False


def _refuse_during_import(event: str, args: tuple[object, ...]) -> None:
    if _guarded_threads and event in REFUSED_EVENTS and threading.get_ident() in _guarded_threads:
        target = repr(args[0])[:200] if args else ""
        raise DownloadRefused(
            f"liboqs-python tried {event} {target} while being imported (its installer "
            "downloads and builds liboqs); refused"
        )


@contextlib.contextmanager
def no_launch_or_network() -> Iterator[None]:
    """Inside, this thread may not start a program or open a connection. An audit hook cannot be
    removed, so one is installed once and only acts for the threads inside this block."""
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_refuse_during_import)
            _hook_installed = True
    thread = threading.get_ident()
    _guarded_threads.add(thread)
    try:
        yield
    finally:
        _guarded_threads.discard(thread)
