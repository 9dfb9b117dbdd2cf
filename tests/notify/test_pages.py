"""The pages: a person changes their own notification preferences on the account page's
section; an organisation's admin registers a webhook endpoint and sees its dead letters."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from posture.storage.models import NotificationDelivery, NotificationPreference, WebhookEndpoint
from posture.storage.models.enums import Role
from tests.notify.conftest import Db


def _preferences() -> None:
    from ui.context import principal
    from ui.notification_preferences import notification_preferences

    notification_preferences(principal())


def _notifications() -> None:
    from ui.pages.notifications import notifications_page

    notifications_page()


@pytest.fixture
def app_env(world_db: Db, monkeypatch: pytest.MonkeyPatch) -> Db:
    monkeypatch.setenv("ASSURE_DATA_DIR", str(world_db[2].data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    return world_db


def _open(render, principal) -> AppTest:  # type: ignore[no-untyped-def]
    app = AppTest.from_function(render, default_timeout=60)
    app.session_state["assure_principal"] = principal
    return app.run()


def test_a_person_saves_their_own_preferences(app_env: Db) -> None:
    world, sessions, _ = app_env
    me = world.principal(Role.SUPPLIER_MEMBER)
    app = _open(_preferences, me)
    assert not app.exception
    high = next(s for s in app.selectbox if s.label == "High alerts")
    assert high.value == "immediate"
    high.set_value("digest")
    app = app.button[0].click().run()
    assert not app.exception
    with sessions() as session:
        [row] = session.scalars(select(NotificationPreference)).all()
    assert row.user_id == me.user_id
    assert row.severity_modes["high"] == "digest"


def test_an_admin_registers_an_endpoint_and_a_private_one_is_refused(
    app_env: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, sessions, _ = app_env
    admin = world.principal(Role.SUPPLIER_ADMIN)
    app = _open(_notifications, admin)
    assert not app.exception
    assert [s.value for s in app.subheader][:2] == ["Webhook endpoints", "Dead letters"]
    address = next(t for t in app.text_input if t.label == "HTTPS address")
    address.input("https://10.0.0.1/hook")
    app = next(b for b in app.button if b.label == "Register endpoint").click().run()
    assert any("egress policy" in e.value for e in app.error)
    monkeypatch.setenv("ASSURE_EGRESS_ALLOW", "127.0.0.0/8")
    address = next(t for t in app.text_input if t.label == "HTTPS address")
    address.input("http://127.0.0.1:9/hook?token=abc")
    app = next(b for b in app.button if b.label == "Register endpoint").click().run()
    assert not app.exception
    # Registered: the form is empty again, so a second click registers nothing twice.
    assert next(t for t in app.text_input if t.label == "HTTPS address").value == ""
    with sessions() as session:
        [endpoint] = session.scalars(select(WebhookEndpoint)).all()
    assert endpoint.organisation_id == world.orgs["s1"].organisation_id
    shown = _open(_notifications, admin)
    table = shown.dataframe[0].value
    assert table["Address"].tolist() == ["http://127.0.0.1:9/…"]


def test_the_platform_admin_sees_the_outbox_across_the_estate(app_env: Db) -> None:
    from posture.notify.enqueue import enqueue_new_alerts
    from tests.notify.conftest import NOW, loopback_settings, raise_alert

    world, sessions, settings = app_env
    for org in ("s1", "s2"):
        raise_alert(sessions, world, org=org)
    unplanned = _open(_notifications, world.principal(Role.PLATFORM_ADMIN))
    assert not unplanned.exception
    assert unplanned.subheader[0].value == "Outbox across the estate"
    assert "2 alerts are not yet planned" in unplanned.caption[1].value
    # With an SMTP server configured, the readers' e-mails are planned (nothing is sent here).
    enqueue_new_alerts(sessions, loopback_settings(settings, smtp_port=2525), NOW)
    with sessions() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .where(NotificationDelivery.status == "pending")
        )
    app = _open(_notifications, world.principal(Role.PLATFORM_ADMIN))
    table = app.dataframe[0].value.set_index("Channel")
    assert int(table["Waiting"].sum()) == waiting > 0
    assert int(table["Dead letters"].sum()) == 0
    assert "0 alerts are not yet planned" in app.caption[1].value


def test_an_organisation_admin_does_not_see_the_estate_outbox(app_env: Db) -> None:
    from posture.identity.permissions import PermissionDenied
    from posture.notify.outbox_summary import outbox_summary

    world, sessions, _ = app_env
    admin = world.principal(Role.SUPPLIER_ADMIN)
    app = _open(_notifications, admin)
    assert "Outbox across the estate" not in [s.value for s in app.subheader]
    with sessions() as session, pytest.raises(PermissionDenied):
        outbox_summary(session, admin)
