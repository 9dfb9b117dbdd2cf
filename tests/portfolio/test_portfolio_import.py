"""A force imports its portfolio from the asset list it keeps (CSV or XLSX): every bad row is
reported with its row number and then nothing is imported; a clean file deploys or updates every
product it names in one go, each change audited; what is exported imports back unchanged; a
product the force may not deploy is "not found" whichever way a row names it; twenty imports at
once leave one deployment per product."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.exports import to_csv, to_xlsx
from posture.identity.permissions import PermissionDenied
from posture.portfolio.columns import COLUMNS
from posture.portfolio.deployments import deployment_standings
from posture.portfolio.transfer import ImportRefused, export_rows, import_deployments
from posture.storage.engine import transaction
from posture.storage.models import (
    AuditEvent,
    Deployment,
    Lot,
    LotApplication,
    ProcurementFramework,
    Product,
)
from posture.storage.models.enums import ListingState, Role
from tests.identity.world import World, build_world

PRODUCTS = 200


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with transaction(sessions) as session:
        return build_world(session)


def _catalogue(session: Session, world: World, count: int, listed: bool = True) -> list[int]:
    """`count` products of supplier s1, listed on one lot (or not listed at all)."""
    supplier = world.orgs["s1"].organisation_id
    products = [
        Product(organisation_id=supplier, name=f"Asset {i:03d}", category="other",
                deployment_model="saas")
        for i in range(count)
    ]  # fmt: skip
    session.add_all(products)
    session.flush()
    if listed:
        framework = ProcurementFramework(organisation_id=supplier, title="Catalogue")
        session.add(framework)
        session.flush()
        lot = Lot(framework_id=framework.id, key="all", title="All")
        session.add(lot)
        session.flush()
        session.add_all(
            LotApplication(lot_id=lot.id, product_id=p.id, organisation_id=supplier,
                           status=ListingState.LISTED.value, eligible=True)
            for p in products
        )  # fmt: skip
        session.flush()
    return [p.id for p in products]


def _row(product_id: int, i: int) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "product": f"Asset {i:03d}",
        "product_version": f"{i}.0",
        "criticality": ["Mission critical", "business-critical", "Administrative"][i % 3],
        "internet_facing": "yes" if i % 2 else "no",
        "contract_start": "01/04/2025",
        "contract_end": "2028-03-31",
        "renewal_notice_days": "90",
        "owner": f"Head of Digital {i}",
        "sub_suppliers": "Acme Hosting; Northern Cloud" if i % 4 == 0 else "",
        "classification": "OFFICIAL",
        "sensitive_caveat": "yes" if i % 5 == 0 else "",
        "police_networks": "PNN" if i % 7 == 0 else "",
        "national_systems": "pnc; PND" if i % 11 == 0 else "",
        "records_held": "1,000",
    }


def _csv(rows: list[dict[str, Any]]) -> bytes:
    return to_csv(pd.DataFrame(rows, columns=list(COLUMNS))).encode()


def _import(sessions: sessionmaker[Session], world: World, data: bytes, role: Role = Role.SIRO):
    with transaction(sessions) as session:
        return import_deployments(
            session, world.principal(role), world.orgs["f1"].organisation_id, data
        )


def _deployments(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Deployment)) or 0


def _events(sessions: sessionmaker[Session], action: str) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def test_ten_bad_rows_in_two_hundred_import_nothing_and_each_is_named(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        ids = _catalogue(session, world, PRODUCTS)
    rows = [_row(pid, i) for i, pid in enumerate(ids)]
    bad = {
        3: ("classification", "RESTRICTED"),
        17: ("contract_end", "2024-01-01"),  # before it starts
        40: ("criticality", "vital"),
        58: ("records_held", "lots"),
        77: ("police_networks", "PNN; internet"),
        90: ("product_id", "999999"),  # no such product
        120: ("renewal_notice_days", "5000"),
        150: ("sensitive_caveat", "maybe"),
        171: ("product_id", str(ids[2])),  # the same product as row 4
        199: ("owner", "\u202eevil"),  # a bidi override hides text from the reader
    }
    for index, (column, value) in bad.items():
        rows[index][column] = value
    rows[171]["product"] = "Asset 002"
    with pytest.raises(ImportRefused) as refused:
        _import(sessions, world, _csv(rows))
    # Spreadsheet rows: the header is row 1, so the file's row i is row i + 2.
    assert [p.row for p in refused.value.problems] == [i + 2 for i in sorted(bad)]
    said = {p.row: p.problem for p in refused.value.problems}
    assert "classification" in said[5]
    assert "RESTRICTED" in said[5]
    assert "ends before it starts" in said[19]
    assert "criticality" in said[42]
    assert "not a whole number" in said[60]
    assert "internet" in said[79]
    assert said[92] == "product 999999 not found"
    assert "renewal_notice_days" in said[122]
    assert "not yes or no" in said[152]
    assert said[173] == f"product {ids[2]} is also on row 4"
    assert "without control, hidden or bidi characters" in said[201]
    assert _deployments(sessions) == 0
    assert _events(sessions, "deployment.recorded") == 0
    assert _events(sessions, "deployment.imported") == 0

    fixed = [_row(pid, i) for i, pid in enumerate(ids)]
    report = _import(sessions, world, _csv(fixed))
    assert (len(report.deployed), len(report.changed), len(report.unchanged)) == (PRODUCTS, 0, 0)
    assert _deployments(sessions) == PRODUCTS
    assert _events(sessions, "deployment.recorded") == PRODUCTS
    assert _events(sessions, "deployment.imported") == 1
    with sessions() as session:
        standings = {
            s.product_id: s
            for s in deployment_standings(
                session, world.principal(Role.SIRO), world.orgs["f1"].organisation_id
            )
        }
    first = standings[ids[0]]
    assert first.details.criticality == "mission-critical"
    assert first.details.sub_suppliers == ["Acme Hosting", "Northern Cloud"]
    # 90 days before 31 March 2028 (a leap year).
    assert first.details.renewal_notice_on().isoformat() == "2028-01-01"
    assert first.use.sensitive_caveat
    assert first.use.police_networks == ["pnn"]
    assert [s.value for s in first.use.national_systems] == ["pnc", "pnd"]
    assert standings[ids[1]].details.internet_facing
    assert first.use.records_held == 1000


def test_what_is_exported_imports_back_unchanged_in_csv_and_xlsx(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        ids = _catalogue(session, world, 12)
    _import(sessions, world, _csv([_row(pid, i) for i, pid in enumerate(ids)]))
    f1 = world.orgs["f1"].organisation_id
    with sessions() as session:
        exported = export_rows(session, world.principal(Role.FORCE_ASSESSOR), f1)
    frame = pd.DataFrame(exported, columns=list(COLUMNS))
    for data in (to_csv(frame).encode(), to_xlsx(frame, "portfolio")):
        report = _import(sessions, world, data)
        assert (len(report.deployed), len(report.changed)) == (0, 0)
        assert len(report.unchanged) == 12
    assert _events(sessions, "deployment.changed") == 0
    # A changed cell is one change, audited with the value before and after.
    frame.loc[0, "criticality"] = "administrative"
    report = _import(sessions, world, to_xlsx(frame, "portfolio"))
    assert report.changed == [exported[0]["product_id"]]
    with sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "deployment.changed"))
    assert event is not None
    assert event.data["after"]["criticality"] == "administrative"


def test_rows_may_name_products_by_name_but_never_reach_one_the_force_may_not_deploy(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        (listed,) = _catalogue(session, world, 1)
        hidden = Product(organisation_id=world.orgs["s2"].organisation_id, name="Secret Sauce",
                         category="other", deployment_model="saas")  # fmt: skip
        twins = [
            Product(organisation_id=world.orgs[s].organisation_id, name="Twin", category="other",
                    deployment_model="saas")
            for s in ("s1", "s2")
        ]  # fmt: skip
        session.add_all([hidden, *twins])
        session.flush()
        hidden_id = hidden.id
        for twin in twins:
            session.add(
                LotApplication(lot_id=session.scalar(select(Lot.id)), product_id=twin.id,
                               organisation_id=twin.organisation_id,
                               status=ListingState.LISTED.value, eligible=True)
            )  # fmt: skip
    rows = [
        {"product": "  asset   000 "},  # case and spaces do not matter
        {"product": "Secret Sauce"},
        {"product_id": str(hidden_id)},
        {"product": "Twin"},
        {"product_id": str(listed), "product": "Something else"},
    ]
    with pytest.raises(ImportRefused) as refused:
        _import(sessions, world, _csv(rows))
    said = {p.row: p.problem for p in refused.value.problems}
    assert 2 not in said
    assert said[3] == "product 'Secret Sauce' not found"
    # Named by id, the unlisted product is as absent: its name is not told.
    assert said[4] == f"product {hidden_id} not found"
    assert "2 products are named 'Twin'" in said[5]
    assert "is named 'Asset 000', not 'Something else'" in said[6]
    assert _deployments(sessions) == 0


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "cannot be imported"),
        (b"product_id,critcality\n1,administrative\n", "unknown column(s) 'critcality'"),
        (b"criticality\nadministrative\n", "needs a product_id or a product column"),
        (b"product_id,PRODUCT_ID\n1,1\n", "cannot be imported"),
        (b"product_id,product-id\n1,1\n", "two headers name the same column"),
        (b"product_id\n", "no rows to import"),
        (b"PK\x03\x04" + b"\x00" * 200, "cannot be imported"),
    ],
)
def test_a_file_that_is_not_a_portfolio_is_refused_clearly(
    world: World, sessions: sessionmaker[Session], data: bytes, said: str
) -> None:
    with pytest.raises(ValidationFailed, match=None) as refused:
        _import(sessions, world, data)
    assert said in str(refused.value)
    assert _deployments(sessions) == 0


def test_only_those_who_manage_deployments_import(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        (pid,) = _catalogue(session, world, 1)
    data = _csv([_row(pid, 0)])
    for role in (Role.NATIONAL_ASSESSOR, Role.SUPPLIER_ADMIN, Role.PLATFORM_ADMIN):
        with pytest.raises(PermissionDenied):
            _import(sessions, world, data, role)
    assert _deployments(sessions) == 0
    assert len(_import(sessions, world, data, Role.FORCE_ASSESSOR).deployed) == 1


def test_twenty_imports_of_one_file_at_once_leave_one_deployment_per_product(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        ids = _catalogue(session, world, 10)
    data = _csv([_row(pid, i) for i, pid in enumerate(ids)])

    def attempt(_: int) -> tuple[int, int]:
        report = _import(sessions, world, data)
        return len(report.deployed), len(report.unchanged)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert sum(deployed for deployed, _ in results) == 10
    assert all(deployed + unchanged == 10 for deployed, unchanged in results)
    assert _deployments(sessions) == 10
    assert _events(sessions, "deployment.recorded") == 10


def test_a_file_with_some_columns_changes_those_and_keeps_the_rest(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        (pid,) = _catalogue(session, world, 1)
    _import(sessions, world, _csv([_row(pid, 0)]))
    # Only the contract's end and the notice: the use (SENSITIVE, PNN, PNC, PND) and the rest
    # of the record stay; a blank owner cell clears the owner.
    data = f"product_id,contract_end,renewal_notice_days,owner\n{pid},31/03/2029,30,\n".encode()
    report = _import(sessions, world, data)
    assert report.changed == [pid]
    with sessions() as session:
        (standing,) = deployment_standings(
            session, world.principal(Role.SIRO), world.orgs["f1"].organisation_id
        )
    assert standing.details.contract_end.isoformat() == "2029-03-31"
    assert standing.details.renewal_notice_days == 30
    assert standing.details.owner is None
    assert standing.details.criticality == "mission-critical"
    assert standing.use.sensitive_caveat
    assert [n.value for n in standing.use.police_networks] == ["pnn"]
    # What the file leaves is still checked with what it sets: an end before the kept start.
    with pytest.raises(ImportRefused) as refused:
        _import(sessions, world, f"product_id,contract_end\n{pid},2020-01-01\n".encode())
    assert "ends before it starts" in refused.value.problems[0].problem


def test_a_withdrawn_product_stays_in_the_portfolio_and_round_trips_but_is_never_deployed_anew(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        kept, fresh = _catalogue(session, world, 2)
    _import(sessions, world, _csv([_row(kept, 0)]))
    with transaction(sessions) as session:
        for product_id in (kept, fresh):
            session.get(Product, product_id).deleted_at = utcnow()
    f1 = world.orgs["f1"].organisation_id
    with sessions() as session:
        exported = export_rows(session, world.principal(Role.SIRO), f1)
    assert [row["product_id"] for row in exported] == [kept]
    frame = pd.DataFrame(exported, columns=list(COLUMNS))
    assert _import(sessions, world, to_csv(frame).encode()).unchanged == [kept]
    frame.loc[0, "contract_end"] = "2029-01-01"
    assert _import(sessions, world, to_csv(frame).encode()).changed == [kept]
    with pytest.raises(ImportRefused) as refused:
        _import(sessions, world, _csv([_row(fresh, 1)]))
    assert refused.value.problems[0].problem == f"product {fresh} not found"


def test_a_name_matches_whatever_its_case_and_spacing(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        (pid,) = _catalogue(session, world, 1)
        session.get(Product, pid).name = "Évidence  Vault"
    report = _import(sessions, world, "product\n  éVIDENCE vault \n".encode())
    assert report.deployed == [pid]


def test_a_sub_supplier_name_cannot_hold_the_list_separator() -> None:
    """ "Acme; Cloud Ltd" would come back from a spreadsheet as two fourth parties."""
    from pydantic import ValidationError

    from posture.plain_text import said
    from posture.portfolio.details import PortfolioDetails

    with pytest.raises(ValidationError) as refused:
        PortfolioDetails(sub_suppliers=["Acme; Cloud Ltd"])
    assert said(refused.value) == "sub_suppliers.0: must not contain ';'"
    assert PortfolioDetails(sub_suppliers=["Acme, Cloud Ltd"]).sub_suppliers == ["Acme, Cloud Ltd"]
