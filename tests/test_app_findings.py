"""The Findings page: a supplier sees its product's open findings with due dates and disputes
one; the national assessor sees the dispute and upholds it; the age summary counts open
findings; another supplier sees none of s1's."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from posture.identity.permissions import Principal
from posture.storage.models import TrackedFinding
from posture.storage.models.enums import Role
from posture.storage.models.finding_lifecycle import FindingStatus
from tests.findings.scenario import OLD_TLS, START, run_check
from tests.passport.conftest import Db

REASON = "The endpoint is a test harness, never reachable from police networks."


def _render() -> None:
    from ui.navigation import PAGES, guarded

    guarded(next(spec for spec in PAGES if spec.url_path == "findings"))()


def _open(principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, default_timeout=60)
    app.session_state["assure_principal"] = principal
    return app.run()


@pytest.fixture
def page(world_db: Db, monkeypatch: pytest.MonkeyPatch) -> Db:
    world, sessions, settings = world_db
    run_check(sessions, world, [OLD_TLS], START)
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    return world_db


def _status(db: Db) -> FindingStatus:
    with db[1]() as session:
        return session.scalars(select(TrackedFinding.status)).one()


def test_a_supplier_disputes_and_the_assessor_upholds_on_the_page(page: Db) -> None:
    world = page[0]
    supplier = _open(world.principal(Role.SUPPLIER_ADMIN))
    assert not supplier.exception
    assert [m.value for m in supplier.metric][:2] == ["1", "1"]  # open, past due
    # After the two by-age tables (open, past due): the product's findings.
    shown = supplier.dataframe[2].value
    assert list(shown["Code"]) == ["TLS-VER-001"]
    assert list(shown["Past due"]) == ["yes"]
    supplier.text_area(key="finding-dispute-reason").input(REASON)
    supplier.button[-1].click().run()
    assert not supplier.exception
    assert _status(page) == FindingStatus.DISPUTED

    assessor = _open(world.principal(Role.NATIONAL_ASSESSOR))
    assert not assessor.exception
    assert REASON in [t.value for t in assessor.text]
    assessor.radio(key="dispute-verdict").set_value("uphold")
    assessor.text_area(key="dispute-note").input("Checked the diagram: it is isolated.")
    assessor.button[-1].click().run()
    assert not assessor.exception
    assert _status(page) == FindingStatus.FALSE_POSITIVE


def test_another_supplier_sees_none_of_it(page: Db) -> None:
    other = _open(page[0].principal(Role.SUPPLIER_ADMIN, "s2"))
    assert not other.exception
    assert [m.value for m in other.metric][:2] == ["0", "0"]
    assert "No open findings on your products." in [i.value for i in other.info]
