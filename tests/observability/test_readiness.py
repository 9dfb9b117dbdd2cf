"""/livez and /readyz on the partner API served for real: readiness fails, by name and without
leaking where the dependency lives, when the database or the queue is gone or hangs; /metrics
still answers, saying the estate could not be read."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.observability.conftest import get, samples, value
from tests.observability.relay import Relay
from tests.partner_api.live import serving_api
from tests.partner_api.world import ApiWorld, prepare
from tests.peers.processes import free_port


def _closed_port() -> int:
    port = free_port()  # bound, then released: nothing listens there
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return port


def _not_ready(url: str) -> tuple[dict[str, object], bytes, float]:
    started = time.monotonic()
    status, headers, body = get(f"{url}/readyz")
    elapsed = time.monotonic() - started
    assert status == 503, body
    assert headers["content-type"] == "application/problem+json"
    return json.loads(body), body, elapsed


def test_ready_when_the_database_and_queue_answer(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    with serving_api(template, tmp_path / "data") as api:
        assert get(f"{api.url}/livez")[0] == 200
        status, _, body = get(f"{api.url}/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})


def test_a_deleted_sqlite_database_is_not_ready_and_metrics_say_so(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    folder = tmp_path / "data"
    with serving_api(template, folder) as api:
        assert get(f"{api.url}/readyz")[0] == 200
        for name in ("assure.db", "assure.db-wal", "assure.db-shm"):
            (folder / name).unlink(missing_ok=True)
        problem, body, _ = _not_ready(api.url)
        status, _, metrics = get(f"{api.url}/metrics")
        live = get(f"{api.url}/livez")[0]
    assert problem["checks"] == {"database": "failed"}
    assert "database" in str(problem["detail"])
    assert str(folder).encode() not in body
    assert b"assure.db" not in body
    assert b"Traceback" not in body
    assert status == 200
    assert value(samples(metrics.decode()), "assure_scrape_error") == 1
    assert live == 200  # the process is alive: restarting it would not bring the file back


def test_an_unreachable_redis_queue_is_not_ready_without_leaking_its_url(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    port = _closed_port()
    redis_url = f"redis://:hunter2-queue@127.0.0.1:{port}/0"
    with serving_api(template, tmp_path / "data", {"redis_url": redis_url}) as api:
        problem, body, elapsed = _not_ready(api.url)
        status, _, metrics = get(f"{api.url}/metrics")
    assert problem["checks"] == {"queue": "failed"}
    assert b"hunter2" not in body
    assert str(port).encode() not in body
    assert b"redis" not in body.lower()
    assert elapsed < 5
    assert status == 200
    assert b"hunter2" not in metrics
    assert value(samples(metrics.decode()), "assure_scrape_error") == 1


@pytest.mark.postgres
@pytest.mark.parametrize("failure", ["cut", "stall"])
def test_a_postgresql_that_goes_away_or_hangs_is_not_ready_within_the_probe_timeout(
    postgres_schema_url: str, tmp_path: Path, failure: str
) -> None:
    template = tmp_path / "template"
    template.mkdir()
    prepare(template, postgres_schema_url)
    real = make_url(postgres_schema_url)
    relay = Relay((real.host or "127.0.0.1", real.port or 5432))
    url = real.set(port=relay.port, password="hunter2-db").render_as_string(hide_password=False)
    try:
        with serving_api(template, tmp_path / "data", {"database_url": url}) as api:
            assert get(f"{api.url}/readyz")[0] == 200
            getattr(relay, failure)()
            problem, body, elapsed = _not_ready(api.url)
            # Asked again while the first probe may still hang: no second thread, same answer.
            again, _, elapsed_again = _not_ready(api.url)
            live = get(f"{api.url}/livez")[0]
    finally:
        relay.cut()
    assert problem["checks"] == {"database": "failed"}
    assert again["checks"] == {"database": "failed"}
    assert b"hunter2" not in body
    assert str(relay.port).encode() not in body
    assert b"postgres" not in body.lower()
    assert elapsed < 5
    assert elapsed_again < 5
    assert live == 200
