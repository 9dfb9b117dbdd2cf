"""The Findings page: a supplier sees its product's open findings with due dates and disputes
one; the national assessor sees the dispute and upholds it; the age summary counts open
findings; another supplier sees none of s1's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kernel.clock import utcnow
from posture.identity.permissions import Principal
from posture.risk.acceptances import AcceptanceForm
from posture.risk.acceptances import accept_risk as accept_scenario_risk
from posture.storage.engine import transaction
from posture.storage.models import TrackedFinding
from posture.storage.models.enums import Role
from posture.storage.models.finding_lifecycle import FindingStatus
from tests.findings.scenario import OLD_TLS, START, run_check
from tests.passport.conftest import Db
from tests.risk_register.test_scenarios import deploy, f1
from tests.risk_register.test_treatments import make_scenario

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
    _labelled(supplier.text_area, "Why it is a false positive").input(REASON)
    supplier.button[-1].click().run()
    assert not supplier.exception
    assert _status(page) == FindingStatus.DISPUTED

    assessor = _open(world.principal(Role.NATIONAL_ASSESSOR))
    assert not assessor.exception
    assert REASON in [t.value for t in assessor.text]
    # Nothing is preselected: a decision not made is asked for, not taken as "uphold".
    _labelled(assessor.text_area, "Why").input("Checked the diagram: it is isolated.")
    assessor.button[-1].click().run()
    assert "Choose to uphold or to reject the dispute." in [e.value for e in assessor.error]
    assert _status(page) == FindingStatus.DISPUTED
    _labelled(assessor.radio, "Decision").set_value("uphold")
    assessor.button[-1].click().run()
    assert not assessor.exception
    assert _status(page) == FindingStatus.FALSE_POSITIVE


def _labelled(widgets, label: str):  # type: ignore[no-untyped-def]
    return next(w for w in widgets if w.label == label)


def test_another_supplier_sees_none_of_it(page: Db) -> None:
    other = _open(page[0].principal(Role.SUPPLIER_ADMIN, "s2"))
    assert not other.exception
    assert [m.value for m in other.metric][:2] == ["0", "0"]
    assert "No open findings on your products." in [i.value for i in other.info]


def test_a_siro_links_the_forces_acceptance_and_the_finding_stops_counting_for_it(
    page: Db,
) -> None:
    world, sessions, _ = page
    product_id = world.orgs["s1"].product_id or 0
    deploy(sessions, f1(world), product_id)
    siro = world.principal(Role.SIRO)
    app = _open(siro)
    assert not app.exception
    assert any("no current risk acceptance" in c.value for c in app.caption)

    scenario_id = make_scenario(sessions, world.orgs["f1"].organisation_id, product_id)
    today = utcnow().date()
    with transaction(sessions) as session:
        form = AcceptanceForm(
            rationale="The gateway is replaced in the spring; until then it is watched daily.",
            expires_on=today + timedelta(days=30),
        )
        accept_scenario_risk(session, siro, scenario_id, form, today)
    app = _open(siro)
    assert not app.exception
    assert _labelled(app.selectbox, "Under the acceptance").options
    app = next(b for b in app.button if b.label == "Link the acceptance").click().run()
    assert not app.exception
    assert _status(page) == FindingStatus.RISK_ACCEPTED
    assert any("no longer counts as open for your force" in s.value for s in app.success)
    # The supplier still sees it, without the control a SIRO has.
    supplier = _open(world.principal(Role.SUPPLIER_ADMIN))
    assert "Link the acceptance" not in [b.label for b in supplier.button]
