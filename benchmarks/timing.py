"""Timing shared by the benchmarks that measure a path over repeated runs: wall and CPU time,
the median and p95, and the SQL statements each run sends."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class StatementCounter:
    """SQL statements sent by every engine in the process (the page builds its own)."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._seen)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measured(
    action: Callable[[], Any], repeat: int, counter: StatementCounter | None, warm: bool = False
) -> tuple[dict[str, float], Any]:
    """Wall and CPU seconds over `repeat` runs, and the statements the last run sent; with
    `warm`, one untimed run first (imports and policy files, which a process pays once)."""
    times, cpu, result, statements = [], [], None, 0
    if warm:
        action()
    for _ in range(repeat):
        before = counter.count if counter else 0
        started, started_cpu = time.perf_counter(), time.process_time()
        result = action()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        statements = (counter.count - before) if counter else 0
    figures = {
        "median_seconds": round(statistics.median(times), 4),
        "p95_seconds": round(p95(times), 4),
        "median_cpu_seconds": round(statistics.median(cpu), 4),
    }
    if counter is not None:
        figures["statements"] = statements
    return figures, result


# --- preparing the estate -----------------------------------------------------------------
