"""A heartbeat in a background thread, so a long check keeps proving its worker is alive."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("assure.jobs")


@contextmanager
def heartbeat(beat: Callable[[], bool], every: float) -> Iterator[None]:
    """Call `beat` every `every` seconds until the block ends or `beat` returns False (the job
    is no longer ours, so there is nothing left to keep alive)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                if not beat():
                    return
            except Exception:
                # A database hiccup must not stop the check; the next beat may get through, and
                # if none do, the job goes stale and is recovered, which is the point.
                log.exception("heartbeat failed")

    thread = threading.Thread(target=loop, name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # A beat still in flight is harmless: it only touches a job this worker still holds.
        thread.join(timeout=every)
