"""Timing shared by the benchmarks that measure a path over repeated runs: wall and CPU time,
the median and p95, and the SQL statements each run sends."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


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


def timed_in_sessions(
    sessions: sessionmaker[Session],
    work: Callable[[Session, Any], Any],
    repeat: int,
    counter: StatementCounter,
    before: Callable[[Session], Any] = lambda _: None,
    rollback: bool = False,
    after: Callable[[Session, Any], Any] = lambda _, result: result,
) -> tuple[dict[str, float], Any]:
    """Wall and CPU seconds of `work(session, before(session))` over `repeat` runs, each in its
    own session after one untimed run (imports and policy files, which a process pays once),
    and the statements the last run sent. `before` is not timed, nor is `after` (what to report
    of the result, read before it is undone); with `rollback`, neither is undoing what the run
    wrote, so every run starts from the same estate."""
    times, cpu, result, statements = [], [], None, 0
    for run in range(repeat + 1):
        with sessions() as session:
            given = before(session)
            counted = counter.count
            started, started_cpu = time.perf_counter(), time.process_time()
            result = work(session, given)
            wall, used = time.perf_counter() - started, time.process_time() - started_cpu
            statements = counter.count - counted
            result = after(session, result)
            if rollback:
                session.rollback()
        if run:
            times.append(wall)
            cpu.append(used)
    figures = {
        "median_seconds": round(statistics.median(times), 4),
        "p95_seconds": round(p95(times), 4),
        "median_cpu_seconds": round(statistics.median(cpu), 4),
        "statements": statements,
    }
    return figures, result


def measure_sizes(sizes: list[int], measure: Callable[[int, StatementCounter], dict]) -> list[dict]:
    """`measure(size, counter)` for each estate size, counting the statements every engine in
    the process sends meanwhile."""
    counter = StatementCounter()
    try:
        return [measure(size, counter) for size in sizes]
    finally:
        counter.close()


def growth_report(
    name: str,
    estates: list[dict],
    growth: dict[str, Any],
    limit: float,
    judged: tuple[str, ...] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The benchmark's JSON report, printed: every estate, the growth between the smallest and
    largest, and which of the `judged` paths (all, by default) grow: CPU over `limit` times, or
    more statements."""
    grows = sorted(
        path
        for path, seen in growth.items()
        if (judged is None or path in judged)
        and (seen["cpu_ratio"] > limit or seen["statements"][1] > seen["statements"][0])
    )
    report = {
        "benchmark": name,
        **extra,
        "estates": estates,
        "growth": growth,
        "growth_ratio_limit": limit,
        "grows": grows,
    }
    print(json.dumps(report, indent=2, default=str))
    return report


def sizes_parser(description: str | None) -> argparse.ArgumentParser:
    """The options every estate-size benchmark takes: the sizes, the repeats, where to keep."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suppliers", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="keep and reuse estates here")
    return parser


@contextmanager
def estate_folder(keep: Path | None, name: str) -> Iterator[Path]:
    """A scratch folder for one size's estate, kept under ``keep`` when asked for inspection."""
    if keep is not None:
        folder = keep / name
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        yield Path(folder)
