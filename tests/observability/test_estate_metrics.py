"""The estate as /metrics reads it from the database at scrape time: jobs waiting, failed
sign-ins (written by another process, the Streamlit app), the newest snapshot and the audit
chain; and each of those reads is an index lookup, never a scan of a growing table."""

from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from kernel.clock import utcnow
from kernel.settings import load_settings
from posture.check_requests import CheckRequest
from posture.identity.permissions import Principal
from posture.identity.signin import SignInFailed, sign_in_with_password
from posture.jobs.dispatch import submit_check
from posture.observability.estate import READ_REUSE_SECONDS, EstateCollector
from posture.storage.engine import build_engine, session_factory
from posture.storage.models import AuditEvent, Job, User
from posture.storage.models.enums import Role
from tests.cli import assure
from tests.observability.conftest import scrape, value
from tests.partner_api.live import serving_api
from tests.partner_api.world import ApiWorld


def _next_scrape() -> None:
    time.sleep(READ_REUSE_SECONDS + 0.1)  # past the window in which scrapes share one read


def test_waiting_jobs_show_as_queue_depth_and_age(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, world = api_template
    product_id = world.world.orgs["s1"].product_id
    assert product_id is not None
    principal: Principal = world.world.principal(Role.SUPPLIER_ADMIN)
    # No worker runs here, so the name is never resolved; an address the API's egress policy
    # refuses would be refused before it was queued.
    request = CheckRequest(kind="tls", target="vault.example:9")
    with serving_api(template, tmp_path / "data") as api:
        runtime = api.app.state.runtime
        first = scrape(api.url)
        ids = [submit_check(runtime.sessions, runtime.queue, principal, product_id, request)]
        ids.append(submit_check(runtime.sessions, runtime.queue, principal, product_id, request))
        with runtime.sessions.begin() as session:  # the first has waited two minutes
            session.execute(
                update(Job)
                .where(Job.id == ids[0])
                .values(created_at=utcnow() - timedelta(minutes=2))
            )
        _next_scrape()
        second = scrape(api.url)
    assert value(first, "assure_job_queue_depth", state="queued") == 0
    assert value(first, "assure_job_queue_oldest_age_seconds") == 0
    assert value(second, "assure_job_queue_depth", state="queued") == 2
    assert value(second, "assure_job_queue_depth", state="running") == 0
    assert value(second, "assure_queue_pending_messages") == 2
    age = value(second, "assure_job_queue_oldest_age_seconds")
    assert age is not None
    assert 120 <= age < 300


def test_failed_sign_ins_in_another_process_are_counted_from_the_audit_trail(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    folder = tmp_path / "data"
    with serving_api(template, folder) as api:
        # The app's sign-in, on its own engine, as the Streamlit process signs people in.
        app_side = session_factory(build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)})))
        with app_side() as session:
            email = session.scalars(select(User.email).order_by(User.id)).first()
        assert email is not None

        def fail(who: str) -> None:
            with pytest.raises(SignInFailed):
                sign_in_with_password(app_side, who, "not the password", address="192.0.2.7")

        before = scrape(api.url)
        fail(email)
        fail("nobody@example.police.uk")
        _next_scrape()
        after_two = scrape(api.url)
        fail(email)
        _next_scrape()
        after_three = scrape(api.url)
        with app_side() as session:
            stored = session.scalar(select(func.count()).select_from(AuditEvent))
    name = "assure_signin_failures_total"
    assert value(before, name, action="auth.login_failed") == 0
    assert value(after_two, name, action="auth.login_failed") == 2
    assert value(after_three, name, action="auth.login_failed") == 3
    assert value(after_three, name, action="auth.login_refused") == 0
    # SQLite ids are gapless: the newest id is the chain's length.
    assert value(after_three, "assure_audit_chain_length") == stored


@pytest.mark.slow
def test_snapshot_age_appears_once_a_snapshot_run_is_stored(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    folder = tmp_path / "data"
    with serving_api(template, folder) as api:
        before = scrape(api.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
        done = assure("score", "--snapshot", env={**env, "ASSURE_DATA_DIR": str(folder)})
        assert done.returncode == 0, done.stderr
        _next_scrape()
        after = scrape(api.url)
    assert value(before, "assure_snapshot_age_seconds") is None
    age = value(after, "assure_snapshot_age_seconds")
    assert age is not None
    assert 0 <= age < 120


def test_every_estate_read_is_an_index_search_not_a_table_scan(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    """SQLite's own plan for each statement a scrape runs: none reads a table row by row (the
    audit trail grows without bound; the jobs table keeps every finished job)."""
    template, _ = api_template
    shutil.copytree(template, tmp_path / "data")
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(tmp_path / "data")}))
    statements: list[tuple[str, object]] = []
    reading = False

    @event.listens_for(engine, "before_cursor_execute")
    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if reading and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sessions = session_factory(engine)
    collector = EstateCollector(sessions)
    reading = True
    collector.read()
    reading = False
    with pytest.raises(SignInFailed):
        sign_in_with_password(sessions, "nobody@example.police.uk", "guess")
    reading = True
    # Counts failed sign-ins past the first read's newest id only.
    assert collector.read().sign_in_failures["auth.login_failed"] == 1
    reading = False
    plans = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append((statement, [row[-1] for row in rows]))
    engine.dispose()
    assert len(plans) >= 10
    assert any("audit_events.id >" in statement for statement, _ in plans)
    for statement, steps in plans:
        scans = [s for s in steps if s.startswith("SCAN") and "INDEX" not in s]
        assert not scans, (statement, steps)
