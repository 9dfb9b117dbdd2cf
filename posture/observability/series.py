"""The series a process measures itself: the API's requests and the worker's jobs and checks.

Labels are bounded by construction: a method outside the HTTP set is "other", a route is the
template the request matched or "unmatched", a task is one of the names our queue registers.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# No `_created` series beside each counter and histogram: Prometheus's text format keeps them
# as series of their own, doubling the exposition for a start time nothing here reads. (The
# switch is the library's, process-wide, and only ever turned off.)
disable_created_metrics()

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# Seconds; the API answers in milliseconds, a check takes seconds to minutes.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CHECK_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

# huey's signals that end a task's run, and the outcome label each gives. A run that fails
# (error, timeout, rate-limited, locked, canceled) and will be retried is followed by
# "retrying"; that run is counted once, as retrying (WorkerMetrics.attach).
HUEY_OUTCOMES = {
    "complete": "succeeded",
    "error": "failed",
    "expired": "expired",
    "revoked": "revoked",
    "canceled": "cancelled",
    "timeout": "timed_out",
    "interrupted": "interrupted",
    "locked": "locked",
    "rate-limited": "rate_limited",
}
RETRYING = "retrying"
# Of those, the ones after which huey may requeue the task (interrupted returns before).
_MAY_RETRY = frozenset({"error", "timeout", "rate-limited", "locked", "canceled"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


# Headers a reverse proxy adds. The shipped nginx and Caddy configurations relay every path of
# the API's host from 127.0.0.1, so a relayed request looks like a loopback client: one that
# carries any of these came through a proxy and is never shown the metrics.
RELAYED_HEADERS = frozenset({"forwarded", "x-forwarded-for", "x-real-ip"})


def relayed(header_names: Iterable[str]) -> bool:
    return any(name.lower() in RELAYED_HEADERS for name in header_names)


def address_allowed(address: str | None, allowed: tuple[Network, ...]) -> bool:
    """Whether a peer address (as the socket gives it) is inside one of the networks."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in allowed if ip.version == network.version)


class RequestMetrics:
    """Requests by method, route template and status, and their latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "assure_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "assure_http_request_duration_seconds",
            "Seconds from a request's arrival to its response's end.",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method if method in METHODS else "other", route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)


class WorkerMetrics:
    """Jobs the worker ran, by task and outcome, their durations, and check durations by kind."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.jobs = Counter(
            "assure_worker_jobs",
            "Queue tasks this worker finished, by task name and outcome.",
            ["task", "outcome"],
            registry=registry,
        )
        self.job_seconds = Histogram(
            "assure_worker_job_duration_seconds",
            "Seconds a queue task ran in this worker, by task name.",
            ["task"],
            buckets=CHECK_BUCKETS,
            registry=registry,
        )
        self.checks = Histogram(
            "assure_check_duration_seconds",
            "Seconds a check job's check ran in this worker, by check kind and job outcome.",
            ["kind", "outcome"],
            buckets=CHECK_BUCKETS,
            registry=registry,
        )
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe_check(self, kind: str, outcome: str, seconds: float) -> None:
        self.checks.labels(kind, outcome).observe(seconds)

    def attach(self, huey: Any) -> None:
        """Count the tasks `huey`'s consumer runs, through its signals.

        huey sends a failing run's own signal first and then, if the task has retries left,
        "retrying" (with no signal of its own before it when the task raised RetryTask). It
        decides with `task.retries`, as set when the first signal is sent, so the same test
        here tells a run that will be retried from a final failure; the "retrying" that follows
        is then already counted. Both signals come from the thread that ran the task."""
        from huey import signals

        counted_as_retrying = threading.local()

        @huey.signal(signals.SIGNAL_EXECUTING)
        def executing(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
            with self._lock:
                self._started[task.id] = time.perf_counter()

        @huey.signal(*HUEY_OUTCOMES)
        def finished(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
            if signal in _MAY_RETRY and task.retries:
                counted_as_retrying.task_id = task.id
                self._finish(task, RETRYING)
            else:
                self._finish(task, HUEY_OUTCOMES[signal])

        @huey.signal(signals.SIGNAL_RETRYING)
        def retrying(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
            if getattr(counted_as_retrying, "task_id", None) == task.id:
                counted_as_retrying.task_id = None
            else:  # RetryTask: "retrying" is the run's only signal
                self._finish(task, RETRYING)

    def _finish(self, task: Any, outcome: str) -> None:
        with self._lock:
            started = self._started.pop(task.id, None)
        self.jobs.labels(task.name, outcome).inc()
        if started is not None:
            self.job_seconds.labels(task.name).observe(time.perf_counter() - started)
