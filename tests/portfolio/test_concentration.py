"""The national view of concentration: a product deployed by 30 forces ranks above one deployed
by 2; a few mission-critical SECRET deployments outweigh many administrative OFFICIAL ones;
suppliers count each force once however many of their products it runs; fourth parties are
grouped however their names were typed; ended deployments count for nothing; bands and open
findings are the newest; and only estate-wide roles see it."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from frameworks.loader import default_framework
from kernel.settings import Settings
from posture.identity.permissions import PermissionDenied
from posture.portfolio.concentration import concentration
from posture.scoring.bands import band_names
from posture.storage.engine import transaction
from posture.storage.models import CheckRun, Deployment, Finding, Organisation, Product
from posture.storage.models.enums import Role, RunStatus
from tests.dashboards.conftest import LATER, add_snapshots, snapshot_row
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]
BANDS = tuple(rule.band for rule in default_framework().scoring.bands)


def _forces(session: Session, count: int, prefix: str) -> list[int]:
    forces = [Organisation(slug=f"{prefix}{i}", name=f"Force {prefix}{i}", kind="force")
              for i in range(count)]  # fmt: skip
    session.add_all(forces)
    session.flush()
    return [f.id for f in forces]


def _deploy(session: Session, forces: list[int], product_id: int, **record: object) -> None:
    session.add_all(Deployment(organisation_id=f, product_id=product_id, **record) for f in forces)
    session.flush()


@pytest.fixture
def estate(world_db: Db) -> tuple[World, sessionmaker[Session], dict[str, int]]:
    world, sessions, _ = world_db
    s1, s2 = world.orgs["s1"], world.orgs["s2"]
    with transaction(sessions) as session:
        third = Product(organisation_id=s1.organisation_id, name="s1 Control Room",
                        category="other", deployment_model="saas", max_classification="official",
                        data_locations=["uk"], vetting="nppv2", forces_served=3,
                        records_held=10)  # fmt: skip
        session.add(third)
        session.flush()
        many = _forces(session, 30, "many-")
        few = _forces(session, 2, "two-")
        secret = _forces(session, 3, "secret-")
        # 30 forces, administrative, OFFICIAL: 30 x 1 x 1.
        _deploy(session, many, s1.product_id, criticality="administrative",
                sub_suppliers=["Acme Hosting"])  # fmt: skip
        # 2 forces, mission critical, OFFICIAL: 2 x 4 x 1.
        _deploy(session, few, s2.product_id, criticality="mission-critical",
                sub_suppliers=["ACME  hosting", "Tiny Ltd"])  # fmt: skip
        # 3 forces, mission critical, with SECRET data of their own: 3 x 4 x 4.
        _deploy(session, secret, third.id, criticality="mission-critical",
                classification="secret")  # fmt: skip
        # The same 30 forces run the third product too (the supplier counts them once), and
        # an ended deployment counts for nothing.
        _deploy(session, many[:1], third.id, criticality="administrative")
        ended = _forces(session, 5, "ended-")
        session.add_all(
            Deployment(organisation_id=f, product_id=s2.product_id, ended_at=LATER) for f in ended
        )
        add_snapshots(
            session,
            [
                snapshot_row(world, "s1", LATER, 55.5, "C", A=40.0),
                snapshot_row(world, "s2", LATER, 80.0, "A", A=80.0),
            ],
        )
        run = CheckRun(organisation_id=s1.organisation_id, product_id=s1.product_id,
                       kind="tls", target="127.0.0.1:1", status=RunStatus.SUCCEEDED,
                       finished_at=LATER, result={})  # fmt: skip
        session.add(run)
        session.flush()
        session.add_all(
            Finding(check_run_id=run.id, code=code, severity="high", title=code)
            for code in ("PQC-TLS-001", "CERT-001")
        )
        ids = {"many": s1.product_id, "few": s2.product_id, "secret": third.id}
    return world, sessions, ids


def test_products_rank_by_weight_then_forces(estate) -> None:
    world, sessions, ids = estate
    with sessions() as session:
        view = concentration(session, world.principal(Role.NATIONAL_ASSESSOR), BANDS)
    products = view.products.set_index("product_id")
    assert products.loc[ids["secret"], "weight"] == 3 * 4 * 4 + 1
    assert products.loc[ids["many"], "weight"] == 30
    assert products.loc[ids["few"], "weight"] == 8
    assert view.products["product_id"].tolist() == [ids["secret"], ids["many"], ids["few"]]
    # Deployed by 30 forces, the product ranks above the one deployed by 2.
    order = view.products["product_id"].tolist()
    assert order.index(ids["many"]) < order.index(ids["few"])
    assert products.loc[ids["many"], "forces"] == 30
    assert products.loc[ids["few"], "forces"] == 2  # the 5 ended deployments do not count
    assert products.loc[ids["many"], "band"] == "C"
    assert products.loc[ids["many"], "open_findings"] == 2
    # s2's own check run in the test world has one finding; s1's newer run replaced its own.
    assert products.loc[ids["few"], "open_findings"] == 1
    assert pd.isna(products.loc[ids["secret"], "band"])

    suppliers = view.suppliers.set_index("supplier")
    s1 = suppliers.loc["Organisation s1"]
    # 30 + 3 forces: the force running two of s1's products is counted once.
    assert (s1["products"], s1["forces"], s1["weight"]) == (2, 33, 30 + 49)
    assert s1["worst_band"] == "C"
    assert s1["open_findings"] == 2

    fourth = view.fourth_parties.set_index("fourth_party")
    assert fourth.loc["Acme Hosting", "forces"] == 32
    assert fourth.loc["Acme Hosting", "products"] == 2
    assert fourth.loc["Acme Hosting", "weight"] == 38
    assert fourth.loc["Tiny Ltd", "forces"] == 2
    assert view.fourth_parties["fourth_party"].tolist() == ["Acme Hosting", "Tiny Ltd"]


def test_an_undeclared_criticality_and_classification_weigh_as_the_most_demanding(
    world_db: Db,
) -> None:
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        vague = Product(organisation_id=world.orgs["s1"].organisation_id, name="Vague",
                        category="other", deployment_model="saas")  # fmt: skip
        session.add(vague)
        session.flush()
        _deploy(session, _forces(session, 1, "vague-"), vague.id)
        vague_id = vague.id
    with sessions() as session:
        view = concentration(session, world.principal(Role.NATIONAL_ASSESSOR), BANDS)
    row = view.products.set_index("product_id").loc[vague_id]
    # The first tier's weight times the heaviest data weight.
    assert row["weight"] == 4 * 8


@pytest.mark.parametrize("role", [Role.SUPPLIER_ADMIN, Role.SIRO, Role.PROCUREMENT_OFFICER])
def test_only_estate_wide_roles_see_concentration(estate, role: Role) -> None:
    world, sessions, _ = estate
    with sessions() as session, pytest.raises(PermissionDenied):
        concentration(session, world.principal(role), BANDS)


def test_the_dashboards_page_charts_and_tables_the_concentration(
    estate, world_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _, ids = estate
    monkeypatch.setenv("ASSURE_DATA_DIR", str(world_db[2].data_dir))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    tables = [f.value for f in app.dataframe]
    # Headed in words.
    (products,) = [t for t in tables if "Open findings" in t.columns and "Product" in t.columns]
    assert products["Product id"].tolist() == [ids["secret"], ids["many"], ids["few"]]
    assert products["Band"].tolist() == ["not scored", "C", "A"]
    (fourth,) = [t for t in tables if "Fourth party" in t.columns]
    assert fourth["Fourth party"].tolist() == ["Acme Hosting", "Tiny Ltd"]
    (chart,) = [c for c in app.get("vega_lite_chart") if "Weighted deployments" in c.proto.spec]
    assert '"field": "band"' in chart.proto.spec
    # Best band green through yellow to worst vermillion (Okabe-Ito, safe for colour blindness),
    # not scored grey: in the bands' order.
    spec = json.loads(chart.proto.spec)
    bars, labels = spec["layer"]
    scale = bars["encoding"]["color"]["scale"]
    assert scale["domain"] == [*band_names(), "not scored"]
    assert scale["range"] == ["#009E73", "#56B4E9", "#F0E442", "#E69F00", "#D55E00", "#8C8C8C"]
    # Each bar also says its weight and band in text.
    assert labels["encoding"]["text"]["field"] == "label"
    assert "not scored" in chart.proto.alt or "band" in chart.proto.alt
    assert any("The 3 heaviest products" in h.value for h in app.subheader)


def _render() -> None:
    from ui.pages.dashboards import dashboards_page

    dashboards_page()


def _page(principal) -> AppTest:  # type: ignore[no-untyped-def]
    app = AppTest.from_function(_render, default_timeout=30)
    app.session_state["assure_principal"] = principal
    return app.run()


def test_the_marker_a_cached_view_is_keyed_by_moves_with_every_change_it_reads(estate) -> None:
    """The dashboards keep the view until its marker moves: a changed criticality, a new or
    ended deployment and a new snapshot run each move it; reading does not."""
    from posture.portfolio.concentration import concentration_marker
    from posture.portfolio.deployments import put_deployment
    from posture.portfolio.details import PortfolioDetails

    world, sessions, ids = estate
    siro = world.principal(Role.SIRO)
    f1 = world.orgs["f1"].organisation_id
    seen = []
    with sessions() as session:
        seen.append(concentration_marker(session))
        assert concentration_marker(session) == seen[-1]
    with transaction(sessions) as session:
        from tests.risk_register.listing import list_product

        list_product(session, ids["few"])
        put_deployment(session, siro, f1, ids["few"])
    with sessions() as session:
        seen.append(concentration_marker(session))
    with transaction(sessions) as session:
        put_deployment(
            session, siro, f1, ids["few"], None, PortfolioDetails(criticality="administrative")
        )
    with sessions() as session:
        seen.append(concentration_marker(session))
    with transaction(sessions) as session:
        add_snapshots(session, [snapshot_row(world, "s2", LATER + timedelta(days=1), 1.0, "E")])
    with sessions() as session:
        seen.append(concentration_marker(session))
    assert len(set(seen)) == len(seen)
