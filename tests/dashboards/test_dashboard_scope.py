"""A viewer whose dashboards are narrowed to their own organisations sees only those rows in
every part of the estate view and the post-quantum view, cold or cached: a force assessor never
sees another force's snapshots, nor a supplier's products."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from posture.dashboard_pqc import pqc_migration
from posture.dashboards import estate_view, snapshot_runs
from posture.identity.permissions import Membership, Principal
from posture.storage.engine import transaction
from posture.storage.models import Organisation
from posture.storage.models.enums import Role
from tests.dashboards.conftest import LATER, Db, add_snapshots, snapshot_row


@pytest.fixture
def two_forces(snapshots: Db) -> tuple[Db, int]:
    """The snapshots fixture plus a second force, f2, with its own snapshot in the latest run."""
    world, sessions, _ = snapshots
    with transaction(sessions) as session:
        f2 = Organisation(slug="f2", name="Organisation f2", kind="force")
        session.add(f2)
        session.flush()
        row = snapshot_row(world, "f1", LATER, 20.0, "E", A=10.0, B=20.0)
        add_snapshots(session, [{**row, "organisation_id": f2.id}])
        f2_id = f2.id
    return snapshots, f2_id


def test_a_force_sees_only_its_own_rows_in_every_part_of_the_view(
    two_forces: tuple[Db, int], own_scope_dashboards: None
) -> None:
    (world, sessions, _), f2_id = two_forces
    f1 = world.principal(Role.FORCE_ASSESSOR)
    f2 = Principal(99, "f2@example.police.uk", (Membership(f2_id, Role.FORCE_ASSESSOR),))
    national = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        runs = snapshot_runs(session, national)
        views = {
            name: estate_view(session, who, runs)
            for name, who in (("f1", f1), ("f2", f2), ("national", national))
        }
        pqc = {name: pqc_migration(session, who) for name, who in (("f1", f1), ("f2", f2))}
    assert set(views["national"].heatmap["force"]) == {"Organisation f1", "Organisation f2"}
    assert set(views["f1"].heatmap["force"]) == {"Organisation f1"}
    assert set(views["f2"].heatmap["force"]) == {"Organisation f2"}
    for name in ("f1", "f2"):
        view = views[name]
        # Forces hold no products: no supplier's product reaches a force's league or movers.
        assert view.standings.empty
        assert view.regressions.empty
        assert view.improvements.empty
        assert set(view.trend["subjects"]) == {1}
        readiness, milestones = pqc[name]
        assert readiness["products"].sum() == 0
        assert milestones.empty
    # Each force's weakest objectives are its own scores, not an estate mean.
    weakest = {
        name: dict(
            zip(views[name].weakest["objective"], views[name].weakest["mean_score"], strict=True)
        )
        for name in ("f1", "f2")
    }
    assert weakest == {"f1": {"A": 90.0, "B": 30.0}, "f2": {"A": 10.0, "B": 20.0}}


def _render() -> None:
    from ui.pages.dashboards import dashboards_page

    dashboards_page()


def test_forces_never_get_each_others_cached_page(
    two_forces: tuple[Db, int], own_scope_dashboards: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (world, _, settings), f2_id = two_forces
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    f1 = world.principal(Role.FORCE_ASSESSOR)
    f2 = Principal(99, "f2@example.police.uk", (Membership(f2_id, Role.FORCE_ASSESSOR),))

    def weakest_seen(principal: Principal) -> dict[str, float]:
        app = AppTest.from_function(_render, default_timeout=30)
        app.session_state["assure_principal"] = principal
        app.run()
        assert not app.exception
        (weakest,) = [f.value for f in app.dataframe if "Scored below 50" in f.value.columns]
        return dict(zip(weakest["Objective"], weakest["Mean score"], strict=True))

    a, b = "A Govern security risk", "B Build secure by design"
    for _ in range(2):  # cold, then from the cache
        assert weakest_seen(f1) == {a: 90.0, b: 30.0}
        assert weakest_seen(f2) == {a: 10.0, b: 20.0}
