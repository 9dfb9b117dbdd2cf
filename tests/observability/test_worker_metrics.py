"""`assure worker --metrics-port` in a real process on the SQLite queue: its own series (jobs
by task and outcome, check durations by kind) beside the estate's, and its probes."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.check_requests import CheckRequest, file_fields
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World
from tests.observability.conftest import get, samples, value
from tests.peers.certificates import make_certificate
from tests.peers.processes import free_port, serving
from tests.peers.workers import wait_for_jobs, worker_env


def _worker(settings: Settings, port: int, console: Path, **env: str):  # type: ignore[no-untyped-def]
    argv = [sys.executable, "-m", "assure_cli.main", "worker", "--threads", "1"]
    argv += ["--metrics-port", str(port)]
    environ = worker_env(settings) | {f"ASSURE_{k.upper()}": v for k, v in env.items()}
    return serving(argv, environ, f"http://127.0.0.1:{port}/livez", console=console)


def test_the_worker_counts_the_jobs_and_checks_it_runs(
    world_db: tuple[World, sessionmaker[Session], Settings], tmp_path: Path
) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    cert, _ = make_certificate(tmp_path, "ecdsa")
    data = cert.read_bytes()
    request = CheckRequest(kind="cert", **file_fields("leaf.pem", data))
    queue = build_queue(settings)
    principal = world.principal(Role.SUPPLIER_MEMBER)
    job_ids = [submit_check(sessions, queue, principal, product_id, request, data) for _ in "ab"]
    port = free_port()
    with _worker(settings, port, tmp_path / "worker.log"):
        jobs = wait_for_jobs(sessions, job_ids, timeout=120)
        status, headers, body = get(f"http://127.0.0.1:{port}/metrics")
        ready = get(f"http://127.0.0.1:{port}/readyz")
        missing = get(f"http://127.0.0.1:{port}/anything-else")[0]
    assert {job.status for job in jobs.values()} == {RunStatus.SUCCEEDED}
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    scraped = samples(body.decode())
    assert value(scraped, "assure_worker_jobs_total", task="checks.run", outcome="succeeded") == 2
    assert (
        value(scraped, "assure_check_duration_seconds_count", kind="cert", outcome="succeeded") == 2
    )
    duration = value(scraped, "assure_worker_job_duration_seconds_count", task="checks.run")
    assert duration == 2
    assert value(scraped, "assure_scrape_error") == 0
    assert value(scraped, "assure_job_queue_depth", state="queued") == 0
    assert (ready[0], ready[2]) == (200, b'{"status": "ready"}')
    assert missing == 404
    # Its log is JSON lines too.
    log = (tmp_path / "worker.log").read_text("utf-8")
    assert '"logger": "assure.jobs"' in log


def test_the_worker_refuses_metrics_to_an_address_outside_metrics_allow(
    world_db: tuple[World, sessionmaker[Session], Settings], tmp_path: Path
) -> None:
    _, _, settings = world_db
    port = free_port()
    with _worker(settings, port, tmp_path / "worker.log", metrics_allow="192.0.2.0/24"):
        status, _, body = get(f"http://127.0.0.1:{port}/metrics")
        live = get(f"http://127.0.0.1:{port}/livez")[0]
    assert status == 404
    assert b"assure_" not in body
    assert live == 200


def test_a_worker_metrics_port_in_use_is_a_clear_error(
    world_db: tuple[World, sessionmaker[Session], Settings], tmp_path: Path
) -> None:
    _, _, settings = world_db
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "assure_cli.main", "worker", "--metrics-port", str(port)],
            env=worker_env(settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    )
