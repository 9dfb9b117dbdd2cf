"""assure_worker_jobs_total as huey's own signals drive it: every run of a task is counted once,
under the outcome it had. A failure that huey will retry is `retrying`, never also `failed`; a
rate-limited task is counted (and its run's duration observed) whether or not it is retried."""

from __future__ import annotations

import time
from pathlib import Path

from huey import Huey, SqliteHuey
from huey.consumer import Consumer
from huey.exceptions import RetryTask
from prometheus_client import CollectorRegistry

from posture.observability.series import WorkerMetrics

JOBS = "assure_worker_jobs_total"
DURATIONS = "assure_worker_job_duration_seconds_count"


def _counted(registry: CollectorRegistry) -> dict[str, float]:
    """outcome -> count, over every task, and the number of durations observed."""
    counts: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == JOBS:
                outcome = sample.labels["outcome"]
                counts[outcome] = counts.get(outcome, 0) + sample.value
            elif sample.name == DURATIONS:
                counts["durations"] = counts.get("durations", 0) + sample.value
    return counts


def _immediate() -> tuple[Huey, WorkerMetrics, CollectorRegistry]:
    huey = Huey("job-counts", immediate=True)
    registry = CollectorRegistry(auto_describe=False)
    series = WorkerMetrics(registry)
    series.attach(huey)
    return huey, series, registry


def test_a_failing_task_with_a_retry_is_counted_once_retrying_then_once_failed() -> None:
    huey, series, registry = _immediate()

    @huey.task(retries=1)
    def always_fails() -> None:
        raise ValueError("supplier endpoint refused")

    always_fails()  # runs, fails, is retried at once (immediate), fails for good
    assert _counted(registry) == {"retrying": 1, "failed": 1, "durations": 2}
    assert series._started == {}


def test_a_task_that_raises_retry_task_is_counted_as_retrying() -> None:
    huey, _, registry = _immediate()
    runs: list[int] = []

    @huey.task()
    def asks_again() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RetryTask()

    asks_again()
    assert _counted(registry) == {"retrying": 1, "succeeded": 1, "durations": 2}


def test_a_rate_limited_task_that_is_not_retried_is_counted_and_forgotten() -> None:
    huey, series, registry = _immediate()
    limit = huey.rate_limit("supplier-api", 1, 3600, retry=False)

    @huey.task()
    def call_supplier() -> None:
        with limit:
            pass

    call_supplier()  # within the limit
    call_supplier()  # over it: not run, and not retried
    assert _counted(registry) == {"succeeded": 1, "rate_limited": 1, "durations": 2}
    assert series._started == {}


def test_a_rate_limited_task_that_is_retried_is_counted_as_retrying() -> None:
    huey, series, registry = _immediate()
    limit = huey.rate_limit("supplier-api", 1, 3600, retry=True)

    @huey.task()
    def call_supplier() -> None:
        with limit:
            pass

    call_supplier()
    call_supplier()  # over the limit: rescheduled for when the window ends
    assert _counted(registry) == {"succeeded": 1, "retrying": 1, "durations": 2}
    assert series._started == {}


class _QuietConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer, without the process-wide signal handlers it installs for a worker
    process (this one shares the test runner's process)."""

    def _set_signal_handlers(self) -> None:
        pass


def test_twenty_failing_tasks_across_two_worker_threads_are_counted_exactly(
    tmp_path: Path,
) -> None:
    """A real consumer's worker threads: each run's signals come from the thread that ran it,
    so two threads failing at once never lend each other their retrying state."""
    huey = SqliteHuey("job-counts", filename=str(tmp_path / "queue.db"))
    registry = CollectorRegistry(auto_describe=False)
    series = WorkerMetrics(registry)
    series.attach(huey)

    @huey.task(retries=1)
    def flaky(index: int) -> None:
        time.sleep(0.01 * (index % 3))
        raise ConnectionError(f"supplier {index} unreachable")

    for index in range(20):
        flaky(index)
    consumer = _QuietConsumer(huey, workers=2, worker_type="thread", periodic=False)
    consumer.start()
    deadline = time.monotonic() + 60
    try:
        while _counted(registry).get("failed", 0) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)
    assert _counted(registry) == {"retrying": 20, "failed": 20, "durations": 40}
    assert series._started == {}
