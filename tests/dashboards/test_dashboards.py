"""Dashboards aggregate the two latest snapshot runs: standings, trend arrows, movers,
the force heatmap, weakest objectives and the trend, for the roles allowed to see them."""

from __future__ import annotations

import pandas as pd
import pytest

from posture.dashboards import (
    estate_trend,
    force_heatmap,
    league_page,
    movers,
    product_objectives,
    product_standings,
    snapshot_runs,
    weakest_objectives,
)
from posture.identity.permissions import PermissionDenied
from posture.storage.models.enums import Role
from tests.dashboards.conftest import EARLIER, LATER, Db


def test_standings_show_change_and_trend_since_the_previous_run(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        runs = snapshot_runs(session, assessor)
        standings = product_standings(session, assessor)
    assert (runs.latest, runs.previous) == (LATER, EARLIER)
    by_product = standings.set_index("product_id")
    s1, s2 = world.orgs["s1"].product_id, world.orgs["s2"].product_id
    assert standings["product_id"].tolist() == [s1, s2]  # best first
    assert by_product.loc[s1, ["change", "trend", "previous_band", "band"]].tolist() == [
        -14.5,
        "▼",
        "B",
        "C",
    ]
    assert by_product.loc[s2, "trend"] == "▶"  # 0.4 is below the mover threshold
    assert by_product.loc[s1, "confidence"] == 80.0
    regressions, improvements = movers(standings)
    assert regressions["change"].tolist() == [-14.5]
    assert improvements.empty


def test_the_league_table_filters_and_pages(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    with sessions() as session:
        standings = product_standings(session, world.principal(Role.FORCE_ASSESSOR))
    page, matched = league_page(standings, ["C"], "", page=1, page_size=1)
    assert (len(page), matched) == (1, 2)
    second, _ = league_page(standings, ["C"], "", page=2, page_size=1)
    assert second["product_id"].tolist() != page["product_id"].tolist()
    none, matched = league_page(standings, ["A"], "", page=1)
    assert (none.empty, matched) == (True, 0)
    supplier_name = standings["supplier"].iloc[0]
    found, matched = league_page(standings, [], supplier_name.upper(), page=1)
    assert matched == 1
    assert found["supplier"].tolist() == [supplier_name]


def test_heatmap_weakest_objectives_and_trend(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    admin = world.principal(Role.PLATFORM_ADMIN)
    with sessions() as session:
        heatmap = force_heatmap(session, admin)
        products = product_objectives(session, admin)
        weakest = weakest_objectives(session, admin)
        trend = estate_trend(session, admin)
    assert heatmap["objective"].tolist() == ["A", "B"]
    assert heatmap["score"].tolist() == [90.0, 30.0]
    s1, s2 = world.orgs["s1"].product_id, world.orgs["s2"].product_id
    # s2 has no B score: it is listed, without one.
    cells = products.astype(object).where(products.notna(), None)
    assert sorted(cells.itertuples(index=False, name=None), key=str) == sorted(
        [(s1, "A", 40.0), (s1, "B", 71.0), (s2, "A", 45.0), (s2, "B", None)], key=str
    )
    # B: 30 (force) and 71 (s1); s2 has no B score and is left out, not counted as zero.
    assert weakest.to_dict(orient="records") == [
        {"objective": "B", "mean_score": 50.5, "below_50": 1, "subjects": 2},
        {"objective": "A", "mean_score": 58.3, "below_50": 2, "subjects": 3},
    ]
    later = trend[trend["taken_at"] == pd.Timestamp(LATER).to_pydatetime()]
    assert dict(zip(later["kind"], later["subjects"], strict=True)) == {
        "organisation": 1,
        "product": 2,
    }


@pytest.mark.parametrize("role", [Role.SUPPLIER_ADMIN, Role.PROCUREMENT_OFFICER])
def test_roles_without_the_dashboard_permission_are_refused(snapshots: Db, role: Role) -> None:
    world, sessions, _ = snapshots
    with sessions() as session, pytest.raises(PermissionDenied):
        product_standings(session, world.principal(role))


def test_an_estate_without_snapshots_gives_empty_tables(world_db: Db) -> None:
    world, sessions, _ = world_db
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        assert product_standings(session, assessor).empty
        assert force_heatmap(session, assessor).empty
        assert estate_trend(session, assessor).empty
        assert weakest_objectives(session, assessor).empty
        assert product_objectives(session, assessor).empty
