"""The Passports page: a national assessor suspends a passport and sees the saved assessments;
a force relies on one for its deployment; another supplier sees none of s1's; the summary
downloads offer the signed file and the PDF."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from posture.identity.permissions import Principal
from posture.portfolio.deployments import put_deployment
from posture.storage.engine import transaction
from posture.storage.models import Passport, PassportReliance
from posture.storage.models.enums import PassportStatus, Role
from tests.passport.conftest import Issued, issue_for
from tests.risk_register.listing import list_product


def _render() -> None:
    from ui.navigation import PAGES, guarded

    guarded(next(spec for spec in PAGES if spec.url_path == "passports"))()


def _open(principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, default_timeout=60)
    app.session_state["assure_principal"] = principal
    return app.run()


@pytest.fixture
def page(world_db, monkeypatch: pytest.MonkeyPatch) -> Issued:
    world, sessions, settings = world_db
    issued = issue_for(world_db)
    product_id = world.orgs["s1"].product_id
    with transaction(sessions) as session:
        list_product(session, product_id)
        force = world.principal(Role.FORCE_ASSESSOR)
        put_deployment(session, force, world.orgs["f1"].organisation_id, product_id)
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    return issued


def _status(page: Issued) -> PassportStatus:
    with page.sessions() as session:
        return session.scalars(select(Passport.status)).one()


def test_a_national_assessor_suspends_a_passport_with_a_reason(page: Issued) -> None:
    app = _open(page.world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    (table,) = (f.value for f in app.dataframe if "Passport" in f.value.columns)
    assert table["Passport"].tolist() == [page.number]
    assert table["Standing"].tolist() == ["valid"]
    assert [m.value for m in app.metric] == ["0", "0"]
    app.radio[0].set_value("suspend")
    _reason(app).input("short")
    app = app.button[-1].click().run()
    assert any("reason" in e.value for e in app.error)
    assert _status(page) == PassportStatus.ISSUED
    _reason(app).input("The hosting provider reported a breach.")
    app = next(b for b in app.button if b.label == "Record the decision").click().run()
    assert any(f"Passport {page.number} suspended." in s.value for s in app.success)
    assert _status(page) == PassportStatus.SUSPENDED


def test_a_force_relies_on_the_passport_for_its_deployment(page: Issued) -> None:
    app = _open(page.world.principal(Role.FORCE_ASSESSOR))
    assert not app.exception
    assert {b.label for b in app.button} >= {"Rely on this passport for our deployment"}
    app = next(b for b in app.button if b.key == "rely").click().run()
    assert any("now relies on passport" in s.value for s in app.success)
    with page.sessions() as session:
        assert len(session.scalars(select(PassportReliance)).all()) == 1
    national = _open(page.world.principal(Role.NATIONAL_ASSESSOR))
    assert [m.value for m in national.metric] == ["1", "1"]


def test_another_supplier_sees_no_passport_of_s1(page: Issued) -> None:
    app = _open(page.world.principal(Role.SUPPLIER_ADMIN, "s2"))
    assert not app.exception
    assert any("No passport you may see" in i.value for i in app.info)
    owner = _open(page.world.principal(Role.SUPPLIER_ADMIN))
    (table,) = (f.value for f in owner.dataframe if "Passport" in f.value.columns)
    assert table["Passport"].tolist() == [page.number]
    assert not [b for b in owner.button if b.key == "rely"]


def test_the_list_narrows_to_a_product_name(page: Issued) -> None:
    app = _open(page.world.principal(Role.NATIONAL_ASSESSOR))
    app.text_input(key="passport-search").input("no such product").run()
    assert any("No passport matches." in i.value for i in app.info)
    app.text_input(key="passport-search").input("s1 evidence").run()
    (table,) = (f.value for f in app.dataframe if "Passport" in f.value.columns)
    assert table["Passport"].tolist() == [page.number]


def test_a_force_is_not_offered_to_rely_on_a_suspended_passport(page: Issued) -> None:
    from posture.passport.registry import decide

    with transaction(page.sessions) as session:
        decide(
            session,
            page.world.principal(Role.NATIONAL_ASSESSOR),
            page.number,
            "suspend",
            "The hosting provider reported a breach.",
        )
    app = _open(page.world.principal(Role.FORCE_ASSESSOR))
    assert not [b for b in app.button if b.key == "rely"]
    assert any("is suspended: it cannot be relied on" in c.value for c in app.caption)


def _reason(app):  # type: ignore[no-untyped-def]
    label = "Reason (shown to the supplier and to deploying forces)"
    return next(t for t in app.text_area if t.label == label)
