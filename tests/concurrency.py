"""Calls made at the same moment, each in its own thread and transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from posture.storage.engine import transaction


def in_parallel(
    sessions: sessionmaker[Session], calls: list[Callable[[Session], Any]]
) -> list[object]:
    """Run each call in its own thread and transaction, all released at once; each result is
    what the call returned or the exception it raised."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        try:
            with transaction(sessions) as session:
                results[index] = calls[index](session)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results
