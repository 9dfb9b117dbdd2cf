"""A PostgreSQL that accepts connections and never answers, behind a real partner API: scrapes
pile up on /metrics, and /livez still answers at once, so an orchestrator never restarts a
healthy process for its database's sake; the scrapes themselves say the estate could not be
read, and once the read is overdue they say so without waiting at all."""

from __future__ import annotations

import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import make_url

from posture.observability.estate import READ_REUSE_SECONDS, READ_TIMEOUT
from tests.observability.conftest import samples, scrape, value
from tests.observability.relay import Relay
from tests.partner_api.live import serving_api
from tests.partner_api.world import prepare

SCRAPES = 60


def _timed_get(url: str, timeout: float) -> tuple[int | None, float, bytes]:
    """Status (None when no answer came within `timeout`), seconds taken, body."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, time.monotonic() - started, response.read()
    except OSError:
        return None, time.monotonic() - started, b""


@pytest.mark.postgres
def test_livez_answers_within_a_second_while_sixty_scrapes_wait_on_a_hung_database(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    template = tmp_path / "template"
    template.mkdir()
    prepare(template, postgres_schema_url)
    real = make_url(postgres_schema_url)
    relay = Relay((real.host or "127.0.0.1", real.port or 5432))
    url = real.set(port=relay.port).render_as_string(hide_password=False)
    try:
        with serving_api(template, tmp_path / "data", {"database_url": url}) as api:
            assert value(scrape(api.url), "assure_scrape_error") == 0
            relay.stall()
            time.sleep(READ_REUSE_SECONDS + 0.1)  # the next scrape reads the database afresh
            with ThreadPoolExecutor(SCRAPES) as pool:
                pending = [
                    pool.submit(_timed_get, f"{api.url}/metrics", 15) for _ in range(SCRAPES)
                ]
                time.sleep(0.5)  # every scrape has arrived and is waiting
                live = _timed_get(f"{api.url}/livez", timeout=1)
                answers = [future.result() for future in pending]
            # The read still hangs: a scrape now answers without waiting for it.
            later = [_timed_get(f"{api.url}/metrics", 15) for _ in range(5)]
            live_after = _timed_get(f"{api.url}/livez", timeout=1)
    finally:
        relay.cut()
    assert live[0] == 200, "no answer from /livez within 1 s"
    assert live[1] < 1
    assert live_after[0] == 200
    assert [status for status, _, _ in answers] == [200] * SCRAPES
    # Each waited at most for the one read's deadline, never behind one another.
    assert max(seconds for _, seconds, _ in answers) < READ_TIMEOUT + 2
    for _, _, body in answers + later:
        assert value(samples(body.decode()), "assure_scrape_error") == 1
    assert [status for status, _, _ in later] == [200] * 5
    assert max(seconds for _, seconds, _ in later) < 0.5
