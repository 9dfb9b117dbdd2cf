"""assure worker, and settle-worker: what `assure serve` runs for its workers.

Both live apart from serve's supervisor (assure_cli/serve.py), which stays for as long as the
platform runs and so loads neither huey nor SQLAlchemy: a worker loads them for its jobs, and
settling an exited worker's jobs is a short process of its own.
"""

from __future__ import annotations

import logging
import logging.config
from contextlib import ExitStack

import typer

from assure_cli.context import fail, friendly_errors, open_database
from kernel.logs import LogFormat, logging_config
from kernel.settings import load_settings
from posture.jobs.queue import build_queue
from posture.jobs.workers import worker_identity

log = logging.getLogger("assure.worker")


@friendly_errors
def worker(
    threads: int = typer.Option(2, min=1, max=32, help="Worker threads in this process."),
    start_token: str = typer.Option(
        "",
        "--start-token",
        hidden=True,
        help="Set by assure serve: the token this worker's job claims carry.",
    ),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        min=1,
        max=65535,
        help="Serve /metrics (to ASSURE_METRICS_ALLOW), /livez and /readyz on this port.",
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="Address the --metrics-port endpoint listens on."
    ),
    log_format: LogFormat = typer.Option(
        LogFormat.json, "--log-format", help="Log lines as JSON objects or as plain text."
    ),
) -> None:
    """Run a background worker that takes jobs from the queue."""
    logging.config.dictConfig(logging_config(log_format.value))
    with open_database() as db, ExitStack() as stack:
        observe_check = None
        series = None
        if metrics_port is not None:
            from prometheus_client import CollectorRegistry

            from posture.observability.series import WorkerMetrics

            registry = CollectorRegistry(auto_describe=False)
            series = WorkerMetrics(registry)
            observe_check = series.observe_check
        from supplier_portal.automation import schedule_book

        # A schedules file the schema refuses stops the worker here, naming the file and field.
        queue = build_queue(
            db.settings,
            worker_token=start_token or None,
            observe_check=observe_check,
            schedules=schedule_book(db.settings),
        )
        if metrics_port is not None and series is not None:
            from posture.observability.estate import EstateCollector
            from posture.observability.exposition import metrics_endpoint
            from posture.observability.readiness import database_check, dependency_readiness
            from posture.observability.series import networks

            series.attach(queue.huey)
            registry.register(
                EstateCollector(
                    queue.sessions,
                    queue.huey.pending_count,
                    database_ok=database_check(db.engine),
                )
            )
            readiness = dependency_readiness(db.engine, queue.huey.pending_count)
            allow = networks(db.settings.metrics_allow)
            try:
                stack.enter_context(
                    metrics_endpoint(metrics_host, metrics_port, registry, readiness, allow)
                )
            except OSError as exc:
                raise fail(
                    f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror}"
                ) from None
        # Users wait on these jobs in the app, so an idle worker polls at least once a second.
        _ready_consumer()(queue.huey, workers=threads, worker_type="thread", max_delay=1.0).run()


@friendly_errors
def settle_worker(
    start_token: str = typer.Option(..., "--start-token", help="The exited worker's token."),
    pid: int = typer.Option(..., "--pid", min=1, help="The exited worker's process id."),
    cause: str = typer.Option(..., "--cause", help="Why it stopped, for the jobs' errors."),
) -> None:
    """Retry or fail the jobs of a worker that has exited (run by assure serve).

    Prints what it did ("requeued job 3, failed job 4"), which serve adds to its log line."""
    queue = build_queue(load_settings())
    requeued, failed = queue.release_worker(worker_identity(start_token, pid=pid), cause)
    parts = [f"requeued job {i}" for i in requeued] + [f"failed job {i}" for i in failed]
    typer.echo(", ".join(parts))


def _ready_consumer() -> type:
    from huey.consumer import Consumer  # only a worker needs huey's consumer

    class ReadyConsumer(Consumer):  # type: ignore[misc]
        """huey's consumer, saying when it is ready: huey logs "started" before it installs its
        signal handlers, so a SIGTERM in between kills the worker instead of stopping it
        cleanly, and whoever waits for the worker (the supervisor's tests) must know when."""

        def _set_signal_handlers(self) -> None:
            super()._set_signal_handlers()
            self._logger.info("assure worker ready: SIGTERM stops it cleanly")

    return ReadyConsumer
