"""assure worker, and settle-worker: what `assure serve` runs for its workers.

Both live apart from serve's supervisor (assure_cli/serve.py), which stays for as long as the
platform runs and so loads neither huey nor SQLAlchemy: a worker loads them for its jobs, and
settling an exited worker's jobs is a short process of its own.
"""

from __future__ import annotations

import logging

import typer

from assure_cli.context import friendly_errors, open_database
from kernel.settings import load_settings
from posture.jobs.queue import build_queue
from posture.jobs.workers import worker_identity


@friendly_errors
def worker(
    threads: int = typer.Option(2, min=1, max=32, help="Worker threads in this process."),
    start_token: str = typer.Option(
        "",
        "--start-token",
        hidden=True,
        help="Set by assure serve: the token this worker's job claims carry.",
    ),
) -> None:
    """Run a background worker that takes jobs from the queue."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with open_database() as db:
        queue = build_queue(db.settings, worker_token=start_token or None).huey
    # Users wait on these jobs in the app, so an idle worker polls at least once a second.
    _ready_consumer()(queue, workers=threads, worker_type="thread", max_delay=1.0).run()


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
