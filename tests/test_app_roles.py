"""Every page for every role (AppTest): which pages a role is given, that each given page draws
without error, and that each page refused to a role shows the refusal and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from kernel.data_dir import ensure_data_dir
from posture.audit import Actor, record
from posture.erasure import erase_person
from posture.identity.permissions import Principal
from posture.monitoring.alerts import record_band_changes
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, User
from posture.storage.models.enums import Role
from tests.dashboards.conftest import LATER, Db, snapshots

__all__ = ["snapshots"]

EVERYONE = {"Overview", "Framework", "Frameworks and listings", "Challenges"}
EXPECTED = {
    Role.SUPPLIER_ADMIN: EVERYONE
    | {"My products", "Product checks", "Self-assessment", "My challenge entries", "Passports"}
    | {"Notifications"}
    | {"Findings"}
    | {"Product posture"}
    | {"Administration"},
    Role.SUPPLIER_MEMBER: EVERYONE
    | {"My products", "Product checks", "Self-assessment", "My challenge entries", "Passports"}
    | {"Findings"}
    | {"Product posture"},
    Role.FORCE_ASSESSOR: EVERYONE
    | {"Posture dashboards", "Self-assessment", "Shortlists", "Passports"}
    | {"Risk register", "Risk scenarios"}
    | {"Findings"}
    | {"Product posture"},
    Role.NATIONAL_ASSESSOR: EVERYONE
    | {"Posture dashboards", "Review queue", "Target profiles", "Passports"}
    | {"Risk register", "Risk scenarios"}
    | {"Findings"}
    | {"Product posture"},
    Role.PROCUREMENT_OFFICER: EVERYONE | {"Shortlists", "Passports", "Product posture"},
    Role.CHALLENGE_MANAGER: EVERYONE | {"Manage challenges"},
    Role.CHALLENGE_JUDGE: EVERYONE | {"Judging"},
    Role.PLATFORM_ADMIN: EVERYONE
    | {"Posture dashboards", "Manage challenges", "Audit trail", "Risk register", "Passports"}
    | {"Notifications", "Schedules"}
    | {"Findings"}
    | {"Product posture"}
    | {"Administration"},
    Role.SIRO: EVERYONE
    | {"Risk register", "Risk scenarios", "Risk decisions", "Passports", "Notifications"}
    | {"Findings"},
}


def test_every_role_is_covered() -> None:
    assert set(EXPECTED) == set(Role)


def _titles(role_value: str) -> None:
    import streamlit as st

    from posture.identity.permissions import Membership, Principal
    from posture.storage.models.enums import Role
    from ui.navigation import pages_for

    principal = Principal(1, "x@example.police.uk", (Membership(1, Role(role_value)),))
    st.write(",".join(p.title for group in pages_for(principal).values() for p in group))


@pytest.mark.parametrize("role", list(EXPECTED), ids=lambda r: r.value)
def test_each_role_is_given_exactly_its_pages(role: Role) -> None:
    app = AppTest.from_function(_titles, args=(role.value,), default_timeout=30).run()
    assert set(app.markdown[0].value.split(",")) == EXPECTED[role]


def _render(url_path: str) -> None:
    from ui.navigation import PAGES, guarded

    guarded(next(spec for spec in PAGES if spec.url_path == url_path))()


def _open(url_path: str, principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, args=(url_path,), default_timeout=60)
    app.session_state["assure_principal"] = principal
    return app.run()


@pytest.fixture
def estate(snapshots: Db, monkeypatch: pytest.MonkeyPatch) -> Db:
    """The small world with two snapshot runs and the band-change alert between them."""
    _, sessions, settings = snapshots
    with transaction(sessions) as session:
        record_band_changes(session, LATER)
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    return snapshots


@pytest.mark.parametrize("role", list(EXPECTED), ids=lambda r: r.value)
def test_each_page_draws_for_its_roles_and_refuses_the_rest(estate: Db, role: Role) -> None:
    from ui.navigation import PAGES

    world = estate[0]
    for spec in PAGES:
        app = _open(spec.url_path, world.principal(role))
        assert not app.exception, (spec.title, [e.value for e in app.exception])
        if spec.title in EXPECTED[role]:
            assert app.title, spec.title
            assert not any("does not allow" in e.value for e in app.error), spec.title
        else:
            (refused,) = app.error
            assert refused.value.startswith(f"{spec.title}: your role does not allow")
            drawn = [app.title, app.dataframe, app.button, app.text_input, app.selectbox]
            assert not any(drawn), spec.title


def test_the_dashboards_show_the_estate_alert_and_a_national_assessor_acknowledges_it(
    estate: Db,
) -> None:
    world = estate[0]
    force = _open("dashboards", world.principal(Role.FORCE_ASSESSOR))
    assert any(tab.label == "Alerts (1)" for tab in force.tabs)
    (alerts,) = (f.value for f in force.dataframe if "Raised" in f.value.columns)
    assert alerts["Code"].tolist() == ["MON-BAND-CHANGE"]
    assert alerts["Detail"].tolist() == ["B → C"]
    # Force assessors watch the estate; acknowledging is for the supplier or national assessors.
    assert not [b for b in force.button if b.label == "Acknowledge alert"]
    national = _open("dashboards", world.principal(Role.NATIONAL_ASSESSOR))
    note = next(t for t in national.text_input if t.label == "Note (what was done)")
    note.input("band drop agreed with the supplier")
    national = next(b for b in national.button if b.label == "Acknowledge alert").click().run()
    assert any("acknowledged" in s.value for s in national.success)
    national = _open("dashboards", world.principal(Role.NATIONAL_ASSESSOR))
    assert any(tab.label == "Alerts (0)" for tab in national.tabs)


def test_the_supplier_sees_its_product_alert_on_the_checks_page(estate: Db) -> None:
    world = estate[0]
    app = _open("product-checks", world.principal(Role.SUPPLIER_MEMBER))
    (alerts,) = (f.value for f in app.dataframe if "Raised" in f.value.columns)
    assert alerts["Code"].tolist() == ["MON-BAND-CHANGE"]
    other = _open("product-checks", world.principal(Role.SUPPLIER_MEMBER, "s2"))
    assert not [f for f in other.dataframe if "Raised" in f.value.columns]


def test_a_platform_admin_reads_the_newest_audit_events_first(estate: Db) -> None:
    world, sessions, _ = estate
    with sessions() as session:
        newest = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert newest is not None
        total = session.scalar(select(func.count()).select_from(AuditEvent))
    app = _open("audit-trail", world.principal(Role.PLATFORM_ADMIN))
    (events,) = (f.value for f in app.dataframe)
    assert len(events) == min(total, 50)
    assert any(c.value.startswith(f"{total} events match") for c in app.caption)
    assert events["Event"].tolist() == sorted(events["Event"], reverse=True)
    assert (events["Event"][0], events["Action"][0]) == (newest.id, "alert.raised")
    next(n for n in app.number_input if n.label == "Events per page").set_value(1)
    (events,) = (f.value for f in app.run().dataframe)
    assert events["Event"].tolist() == [newest.id]


def test_the_audit_page_names_a_person_until_they_are_erased(estate: Db) -> None:
    world, sessions, settings = estate
    with transaction(sessions) as session:
        user = User(email="rhiannon.price@force.example", display_name="Rhiannon Price")
        session.add(user)
        session.flush()
        actor = Actor(user.email, user.id)
        record(session, actor, "answer.reviewed", "answer", 1, {"message": "Rhiannon Price saw it"})
    admin = world.principal(Role.PLATFORM_ADMIN)
    (events,) = (f.value for f in _open("audit-trail", admin).dataframe)
    assert events["Who"][0] == "rhiannon.price@force.example"
    assert "Rhiannon Price saw it" in events["Details"][0]

    erase_person(sessions, Actor("cli"), user.email, "DPO-9", ensure_data_dir(settings))

    (events,) = (f.value for f in _open("audit-trail", admin).dataframe)
    shown = " ".join(map(str, events.to_dict("list").values()))
    assert "rhiannon" not in shown.lower()
    assert events["Action"][0] == "admin.person_erased"
    assert events["Who"][1] == "erased person"
