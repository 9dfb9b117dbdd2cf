"""One piece of I/O at a time against a peer that may hang, and never a wait past a deadline.

A readiness probe and an estate read both talk to a database or a queue that can accept a
connection and then never answer. Each runs its work in a thread of its own, at most one at a
time; callers arriving while it runs share that attempt and wait for it only until the
attempt's own deadline (its start plus the timeout), not a timeout of their own. Once that
deadline has passed, every caller answers at once from what it already knows, so a hung peer
costs one thread and one connection however often it is asked about.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Attempt(Generic[T]):
    """One run of the work: when it started, and, once `done` is set, its value or error."""

    started: float
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    value: T | None = None
    error: BaseException | None = None
    finished: float | None = None
    # Set by the first caller that logs this attempt's failure or overdue state, so a hung
    # peer is logged once per attempt rather than once per caller.
    reported: bool = False

    def wait(self) -> bool:
        """Wait until the attempt is done or its deadline passes; whether it is done."""
        remaining = self.deadline - time.monotonic()
        if remaining > 0:
            return self.done.wait(remaining)
        return self.done.is_set()


class SingleFlight(Generic[T]):
    """`work` run in a daemon thread named `name`, at most one at a time, each attempt bounded
    by `timeout` seconds for whoever waits on it."""

    def __init__(self, name: str, work: Callable[[], T], timeout: float) -> None:
        self.name = name
        self.work = work
        self.timeout = timeout
        self._lock = threading.Lock()  # held for bookkeeping only, never across the work
        self._current: Attempt[T] | None = None

    def attempt(self, fresh_for: float = 0.0) -> Attempt[T]:
        """The attempt in flight, else one that finished less than `fresh_for` seconds ago,
        else a new one, started now."""
        with self._lock:
            now = time.monotonic()
            current = self._current
            if current is not None and (
                current.finished is None or now - current.finished < fresh_for
            ):
                return current
            attempt: Attempt[T] = Attempt(started=now, deadline=now + self.timeout)
            self._current = attempt
        threading.Thread(target=self._run, args=(attempt,), name=self.name, daemon=True).start()
        return attempt

    def _run(self, attempt: Attempt[T]) -> None:
        try:
            attempt.value = self.work()
        except BaseException as exc:  # handed to the callers, who say what it means
            attempt.error = exc
        with self._lock:
            attempt.finished = time.monotonic()
        attempt.done.set()
