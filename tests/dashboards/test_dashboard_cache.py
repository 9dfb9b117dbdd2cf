"""The dashboards page caches what it reads per snapshot run and viewer scope: reruns are served
from the cache, a new snapshot run is read afresh, and viewers who see different organisations
never get each other's entries, however many ask at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from posture.dashboards import PERMISSION, dashboard_scope, snapshot_runs
from posture.identity import permissions
from posture.identity.permissions import PermissionTable, Principal
from posture.storage.engine import transaction
from posture.storage.models import PostureSnapshot
from posture.storage.models.enums import Role
from tests.dashboards.conftest import LATER, Db, add_snapshots, snapshot_row

NEXT_RUN = LATER.replace(month=12)


def _render() -> None:
    from ui.pages.dashboards import dashboards_page

    dashboards_page()


def _league(principal: Principal) -> list[tuple[str, float]]:
    app = AppTest.from_function(_render, default_timeout=30)
    app.session_state["assure_principal"] = principal
    app.run()
    assert not app.exception
    league = app.dataframe[0].value
    return list(zip(league["Product"], league["Score (out of 100)"], strict=True))


@pytest.fixture
def per_tenant_dashboards(monkeypatch: pytest.MonkeyPatch) -> None:
    """A permission table in which suppliers see the dashboards for their own organisation only
    (the shipped table lets only estate-wide roles in, so every cached scope would be 'all')."""
    table = permissions.permission_table()
    rule = table.permissions[PERMISSION]
    narrowed = rule.model_copy(update={"grants": {**rule.grants, Role.SUPPLIER_ADMIN: "own"}})
    patched = PermissionTable(permissions={**table.permissions, PERMISSION: narrowed})
    monkeypatch.setattr(permissions, "permission_table", lambda: patched)


def test_reruns_are_served_from_the_cache_until_a_new_snapshot_run(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, sessions, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    first = _league(assessor)
    assert first == [("s1 Evidence Vault", 55.5), ("s2 Evidence Vault", 50.4)]
    # Changed under the page without a new run: the cached run is what the page shows.
    with transaction(sessions) as session:
        session.execute(update(PostureSnapshot).values(score=PostureSnapshot.score - 40))
    assert _league(assessor) == first
    with transaction(sessions) as session:
        add_snapshots(
            session,
            [
                snapshot_row(world, "s1", NEXT_RUN, 20.0, "E", A=20.0),
                snapshot_row(world, "s2", NEXT_RUN, 90.0, "A", A=90.0),
            ],
        )
    assert _league(assessor) == [("s2 Evidence Vault", 90.0), ("s1 Evidence Vault", 20.0)]


def test_a_snapshot_dated_before_the_latest_also_changes_the_key(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A back-dated run leaves the latest run as it was but changes the trend."""
    world, sessions, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        before = snapshot_runs(session, assessor)
    with transaction(sessions) as session:
        add_snapshots(session, [snapshot_row(world, "s1", LATER.replace(month=9), 10.0, "E")])
    with sessions() as session:
        after = snapshot_runs(session, assessor)
    assert (after.latest, after.previous) == (before.latest, before.previous)
    assert after != before


def test_suppliers_never_see_each_others_cached_dashboards(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch, per_tenant_dashboards: None
) -> None:
    world, _, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    s1 = world.principal(Role.SUPPLIER_ADMIN, "s1")
    s2 = world.principal(Role.SUPPLIER_ADMIN, "s2")
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    # Each viewer follows one who could see more, or other rows, on the same snapshot run.
    assert len(_league(assessor)) == 2
    assert _league(s1) == [("s1 Evidence Vault", 55.5)]
    assert _league(s2) == [("s2 Evidence Vault", 50.4)]
    assert _league(s1) == [("s1 Evidence Vault", 55.5)]
    assert len(_league(assessor)) == 2
    assert dashboard_scope(s1) != dashboard_scope(s2) != dashboard_scope(assessor)


def test_twenty_concurrent_viewers_each_get_their_own_scope(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch, per_tenant_dashboards: None
) -> None:
    from kernel.settings import load_settings
    from ui.pages.dashboards import _estate

    world, sessions, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    database = load_settings().effective_database_url
    viewers = {
        "s1": world.principal(Role.SUPPLIER_ADMIN, "s1"),
        "s2": world.principal(Role.SUPPLIER_ADMIN, "s2"),
    }
    with sessions() as session:
        runs = snapshot_runs(session, viewers["s1"])

    def products_seen(org: str) -> tuple[str, set[int]]:
        viewer = viewers[org]
        view = _estate(database, runs, dashboard_scope(viewer), viewer)
        return org, set(view.standings["product_id"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        seen = list(pool.map(products_seen, ["s1", "s2"] * 20))
    assert len(seen) == 40
    for org, products in seen:
        assert products == {world.orgs[org].product_id}
