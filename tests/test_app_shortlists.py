"""Frameworks, listings and shortlists by name (AppTest): forms that empty after success (a
second lot does not inherit the first lot's data locations), applications named and moved only
as the reader may, and saved shortlist versions listed, reopened and compared."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kernel.settings import load_settings
from posture.identity.permissions import Membership, Principal
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import Lot, Organisation, Product, ShortlistVersion, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal.procurement import lots
from supplier_portal.procurement.gates import Gates
from ui.plain import unescape_markdown


@pytest.fixture
def market(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    engine = build_engine(load_settings())
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    people, products = {}, {}
    with transaction(sessions) as session:
        orgs = {}
        for slug, name, kind in (
            ("home-office", "Home Office", "national_body"),
            ("s1", "Vaultware Ltd", "supplier"),
            ("s2", "Mapworks Ltd", "supplier"),
        ):
            org = Organisation(slug=slug, name=name, kind=kind)
            session.add(org)
            session.flush()
            orgs[slug] = org.id
        for name, display, org, role in (
            ("officer", "Olu Officer", "home-office", Role.PROCUREMENT_OFFICER),
            ("a1", "Ann Admin", "s1", Role.SUPPLIER_ADMIN),
            ("a2", "Bo Admin", "s2", Role.SUPPLIER_ADMIN),
        ):
            user = User(email=f"{name}@example.police.uk", display_name=display)
            session.add(user)
            session.flush()
            session.add(MembershipRow(user_id=user.id, organisation_id=orgs[org], role=role))
            people[name] = Principal(user.id, user.email, (Membership(orgs[org], role),))
        for name, org in (("Evidence Vault", "s1"), ("Beat Mapper", "s2")):
            product = Product(
                organisation_id=orgs[org],
                name=name,
                category="analytics",
                deployment_model="saas",
                data_locations=["uk"],
            )
            session.add(product)
            session.flush()
            products[name] = product.id
    yield sessions, people, products
    engine.dispose()


def _page(function: str, principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, args=(function,), default_timeout=30)
    app.session_state["assure_principal"] = principal
    return app.run()


def _render(function: str) -> None:
    from ui.pages import assurance

    getattr(assurance, function)()


def _labelled(widgets, label: str):  # type: ignore[no-untyped-def]
    return next(w for w in widgets if w.label == label)


def _click(app: AppTest, label: str) -> AppTest:
    return _labelled(app.button, label).click().run()


def _succeeded(app: AppTest, words: str) -> None:
    shown = [unescape_markdown(s.value) for s in app.success]
    assert any(words in s for s in shown), (shown, [e.value for e in app.error])


def test_a_second_lot_does_not_inherit_the_first_lots_data_locations(market) -> None:
    sessions, people, _ = market
    app = _page("procurement_page", people["officer"])
    _labelled(app.text_input, "New framework title").input("PoliceTech COTS 2027")
    app = _click(app, "Create framework")
    _succeeded(app, "Framework created: PoliceTech COTS 2027")
    assert _labelled(app.text_input, "New framework title").value == ""
    _labelled(app.text_input, "Lot key (e.g. saas)").input("saas")
    _labelled(app.text_input, "Lot title").input("Software as a service")
    _labelled(app.multiselect, "Allowed data locations").set_value(["uk"])
    app = _click(app, "Add lot")
    _succeeded(app, "Lot added: Software as a service, on PoliceTech COTS 2027")
    assert _labelled(app.multiselect, "Allowed data locations").value == []
    assert _labelled(app.text_input, "Lot title").value == ""
    _labelled(app.text_input, "Lot key (e.g. saas)").input("onprem")
    _labelled(app.text_input, "Lot title").input("On premises")
    app = _click(app, "Add lot")
    _succeeded(app, "Lot added: On premises")
    with sessions() as session:
        gates = {lot.key: lot.gates for lot in session.scalars(select(Lot))}
    assert gates["saas"]["allowed_data_locations"] == ["uk"]
    assert not gates["onprem"].get("allowed_data_locations")


def _lot(sessions, people) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        framework = lots.create_framework(
            session, people["officer"], people["officer"].memberships[0].organisation_id, "COTS"
        )
        return lots.add_lot(session, people["officer"], framework.id, "saas", "SaaS", Gates()).id


def test_applications_are_named_and_each_reader_is_offered_only_their_moves(market) -> None:
    sessions, people, _ = market
    _lot(sessions, people)
    supplier = _page("procurement_page", people["a1"])
    assert _labelled(supplier.selectbox, "Lot").options == ["COTS: SaaS"]
    supplier = _click(supplier, "Apply")
    _succeeded(supplier, "Applied: Evidence Vault to COTS: SaaS")
    table = supplier.dataframe[0].value
    assert list(table.columns[:4]) == ["Product", "Supplier", "Lot", "Status"]
    assert table.iloc[0][["Product", "Supplier", "Lot", "Status"]].tolist() == [
        "Evidence Vault",
        "Vaultware Ltd",
        "COTS: SaaS",
        "applied",
    ]
    assert "id" not in table.columns
    assert _labelled(supplier.selectbox, "Move to").options == ["withdrawn"]
    officer = _page("procurement_page", people["officer"])
    which = _labelled(officer.selectbox, "Application")
    assert which.options == ["Evidence Vault (Vaultware Ltd) on COTS: SaaS: applied"]
    assert _labelled(officer.selectbox, "Move to").options == ["under review"]
    _labelled(officer.text_input, "Note").input("Looks complete")
    officer = _click(officer, "Move")
    _succeeded(officer, "Moved Evidence Vault on COTS: SaaS to under review")
    assert _labelled(officer.text_input, "Note").value == ""
    assert _labelled(officer.selectbox, "Move to").options == ["listed"]


def _list_both(sessions, people, products) -> None:  # type: ignore[no-untyped-def]
    lot = _lot(sessions, people)
    with transaction(sessions) as session:
        for who, name in (("a1", "Evidence Vault"), ("a2", "Beat Mapper")):
            application = lots.apply_product(session, people[who], lot, products[name])
            for status in ("under_review", "listed"):
                lots.transition(session, people["officer"], application.id, status)


def test_a_buyer_saves_two_versions_reopens_the_first_and_compares(market) -> None:
    sessions, people, products = market
    _list_both(sessions, people, products)
    app = _page("shortlist_page", people["officer"])
    _labelled(app.text_input, "Title").input("Records for a small force")
    _labelled(app.multiselect, "Lots").set_value([_labelled(app.multiselect, "Lots").options[0]])
    assert _labelled(app.multiselect, "Lots").options == ["COTS: SaaS"]
    app = _click(app, "Create requirement")
    _succeeded(app, "Requirement created: Records for a small force")
    assert _labelled(app.text_input, "Title").value == ""
    assert [e.label for e in app.expander] == [
        "Beat Mapper (Mapworks Ltd)",
        "Evidence Vault (Vaultware Ltd)",
    ]
    prices = [n for n in app.number_input if n.label == "Price (£)"]
    prices[0].set_value(400.0)  # Beat Mapper
    prices[1].set_value(100.0)  # Evidence Vault
    app = _click(app, "Rank and save a version")
    _succeeded(app, "Shortlist saved")
    # Version 2 starts from version 1's inputs; the buyer makes Beat Mapper cheaper and price
    # weigh more.
    prices = [n for n in app.number_input if n.label == "Price (£)"]
    assert [p.value for p in prices] == [400.0, 100.0]
    prices[0].set_value(50.0)
    _labelled(app.number_input, "Security posture (%)").set_value(20)
    _labelled(app.number_input, "Price (%)").set_value(40)
    app = _click(app, "Rank and save a version")
    _succeeded(app, "Shortlist saved")
    listing = next(d.value for d in app.dataframe if "Saved by" in d.value.columns)
    assert listing["Version"].tolist() == [2, 1]
    assert listing["Saved by"].tolist() == ["Olu Officer", "Olu Officer"]
    assert listing["Weights"].tolist()[1].startswith("security posture 40%, PQC readiness 10%")
    assert "price 40%" in listing["Weights"].tolist()[0]
    with sessions() as session:
        first = session.scalar(select(ShortlistVersion).where(ShortlistVersion.version == 1))
        first_ranking = [(r["product"], r["rank"]) for r in first.ranking]
    versions = _labelled(app.selectbox, "Open a saved version")
    app = versions.select_index(1).run()
    ranking = next(d.value for d in app.dataframe if "Why" in d.value.columns)
    assert list(zip(ranking["Product"], ranking["Rank"], strict=True)) == first_ranking
    assert ranking["Supplier"].tolist() == ["Vaultware Ltd", "Mapworks Ltd"]
    shown = "\n".join(unescape_markdown(m.value) for m in app.markdown)
    assert "**Version 1** as saved" in shown
    weights = "security posture weighs 20% (was 40%); price weighs 40% (was 20%)"
    assert f"Weights changed: {weights}." in shown
    moved = next(d.value for d in app.dataframe if "Version 2" in d.value.columns)
    assert moved["Product"].tolist()[0] == "Beat Mapper"
    assert "price score 100 (was 25) at £50.00 (was £400.00)" in moved["Why"].tolist()[0]
