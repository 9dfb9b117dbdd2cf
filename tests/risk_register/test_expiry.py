"""An acceptance past its day stops counting, its scenario is open again and the force is told
once; an expired exception tells the force once too. The worker runs this daily, and a second
run, or twenty at once, raises nothing more."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from posture.audit import verify_chain
from posture.monitoring.changes import ACCEPTANCE_EXPIRED, EXCEPTION_EXPIRED
from posture.monitoring.inbox import alert_table
from posture.portfolio.deployments import deploy_product
from posture.risk.acceptance_state import acceptance_counts
from posture.risk.acceptances import AcceptanceForm, accept_risk, revoke_acceptance
from posture.risk.exceptions import ExceptionForm, grant_exception
from posture.risk.expiry import expire_decisions
from posture.storage.engine import transaction
from posture.storage.models import Alert, RiskAcceptance, RiskScenario
from posture.storage.models.enums import RiskStatus, Role
from tests.jobs.schedule import due_on_a_day, task_at, worker_huey
from tests.risk_register.listing import list_product
from tests.risk_register.test_treatments import (
    count,
    events,
    make_scenario,
    scenario_state,
    second_force,
)

TODAY = date(2026, 12, 6)
RATIONALE = "The gateway is replaced in the spring; until then the vault is watched daily."


def _accept(sessions, principal, scenario_id, days=30) -> RiskAcceptance:  # type: ignore[no-untyped-def]
    form = AcceptanceForm(rationale=RATIONALE, expires_on=TODAY + timedelta(days=days))
    with transaction(sessions) as session:
        return accept_risk(session, principal, scenario_id, form, TODAY)


def _expire(sessions, today):  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        return expire_decisions(session, today)


@pytest.fixture
def accepted(world_db):  # type: ignore[no-untyped-def]
    world, sessions, _ = world_db
    scenario_id = make_scenario(
        sessions, world.orgs["f1"].organisation_id, world.orgs["s1"].product_id
    )
    acceptance = _accept(sessions, world.principal(Role.SIRO), scenario_id)
    return world, sessions, scenario_id, acceptance


def test_an_acceptance_past_its_day_stops_counting_and_alerts_the_force_once(accepted) -> None:
    world, sessions, scenario_id, acceptance = accepted
    siro = world.principal(Role.SIRO)
    day_after = acceptance.expires_on + timedelta(days=1)
    assert acceptance_counts(acceptance, acceptance.expires_on)
    assert not acceptance_counts(acceptance, day_after)
    # On its last day nothing is due.
    assert _expire(sessions, acceptance.expires_on).alerts == []
    result = _expire(sessions, day_after)
    assert result.acceptances == [acceptance.id]
    assert result.reopened == [scenario_id]
    with sessions() as session:
        inbox = alert_table(session, siro, permission="risk.read")
    assert list(inbox["code"]) == [ACCEPTANCE_EXPIRED]
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.OPEN
    with sessions() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.organisation_id == world.orgs["f1"].organisation_id
        assert alert.product_id == world.orgs["s1"].product_id
        assert alert.detail == {
            "scenario_id": scenario_id,
            "acceptance_id": acceptance.id,
            "expires_on": acceptance.expires_on.isoformat(),
        }
        row = session.get(RiskAcceptance, acceptance.id)
        assert row is not None
        assert row.expiry_alerted_at is not None
    (expired,) = events(sessions, "risk.acceptance_expired")
    assert expired.actor_label == "system"
    assert expired.actor_user_id is None
    assert expired.data["expired"] == day_after.isoformat()
    assert expired.organisation_id == world.orgs["f1"].organisation_id
    (raised,) = events(sessions, "alert.raised")
    assert raised.data["code"] == ACCEPTANCE_EXPIRED
    # Run again, the next day too: nothing more.
    assert _expire(sessions, day_after).alerts == []
    assert _expire(sessions, day_after + timedelta(days=1)).alerts == []
    assert count(sessions, Alert) == 1


def test_another_force_and_the_supplier_see_no_such_alert(accepted) -> None:
    world, sessions, _, acceptance = accepted
    _expire(sessions, acceptance.expires_on + timedelta(days=1))
    with sessions() as session:
        assert alert_table(session, second_force(sessions), permission="risk.read").empty
        supplier = alert_table(session, world.principal(Role.SUPPLIER_ADMIN))
    assert ACCEPTANCE_EXPIRED not in set(supplier["code"])


def test_a_revoked_acceptance_raises_nothing(accepted) -> None:
    world, sessions, scenario_id, acceptance = accepted
    with transaction(sessions) as session:
        revoke_acceptance(session, world.principal(Role.SIRO), acceptance.id, TODAY)
    assert _expire(sessions, TODAY + timedelta(days=400)).alerts == []
    assert count(sessions, Alert) == 0
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.OPEN


def test_a_newer_acceptance_keeps_the_scenario_accepted(accepted) -> None:
    world, sessions, scenario_id, acceptance = accepted
    _accept(sessions, world.principal(Role.SIRO), scenario_id, days=60)
    result = _expire(sessions, acceptance.expires_on + timedelta(days=1))
    assert result.acceptances == [acceptance.id]
    assert result.reopened == []
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.ACCEPTED
    assert count(sessions, Alert) == 1


def test_a_closed_scenario_stays_closed(accepted) -> None:
    _, sessions, scenario_id, acceptance = accepted
    with transaction(sessions) as session:
        scenario = session.get(RiskScenario, scenario_id)
        assert scenario is not None
        scenario.status = RiskStatus.CLOSED
    result = _expire(sessions, acceptance.expires_on + timedelta(days=1))
    assert result.acceptances == [acceptance.id]
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.CLOSED


def test_twenty_runs_at_once_raise_one_alert(accepted) -> None:
    _, sessions, _, acceptance = accepted
    day_after = acceptance.expires_on + timedelta(days=1)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: _expire(sessions, day_after), range(20)))
    assert sum(len(r.alerts) for r in results) == 1
    assert count(sessions, Alert) == 1
    assert len(events(sessions, "risk.acceptance_expired")) == 1
    with sessions() as session:
        assert verify_chain(session).intact


def test_an_expired_exception_alerts_its_force_once(world_db) -> None:
    world, sessions, _ = world_db
    siro = world.principal(Role.SIRO)
    product_id = world.orgs["s1"].product_id
    force = world.orgs["f1"].organisation_id
    form = ExceptionForm(
        organisation_id=force,
        product_id=product_id,
        outcome_id="A4.b",
        compensating_controls="Vault access only from the force network, reviewed weekly.",
        rationale="The supplier's fix ships in the next release; we need the vault now.",
        expires_on=TODAY + timedelta(days=10),
    )
    with transaction(sessions) as session:
        list_product(session, product_id)
        deploy_product(session, siro, force, product_id)
        exception = grant_exception(session, siro, form, TODAY)
    assert _expire(sessions, exception.expires_on).alerts == []
    result = _expire(sessions, exception.expires_on + timedelta(days=1))
    assert result.exceptions == [exception.id]
    with sessions() as session:
        inbox = alert_table(session, siro, permission="risk.read", product_id=product_id)
        alert = session.scalars(select(Alert)).one()
    assert list(inbox["code"]) == [EXCEPTION_EXPIRED]
    assert (alert.organisation_id, alert.product_id) == (force, product_id)
    assert alert.detail["outcome_id"] == "A4.b"
    (event,) = events(sessions, "risk.exception_expired")
    assert (event.data["exception_id"], event.actor_label) == (exception.id, "system")
    assert _expire(sessions, exception.expires_on + timedelta(days=2)).alerts == []
    assert count(sessions, Alert) == 1


def test_the_worker_runs_the_expiry_once_a_day(world_db) -> None:
    world, sessions, settings = world_db
    scenario_id = make_scenario(
        sessions, world.orgs["f1"].organisation_id, world.orgs["s1"].product_id
    )
    acceptance = _accept(sessions, world.principal(Role.SIRO), scenario_id, days=1)
    with transaction(sessions) as session:
        # Accepted long ago, for a day long past: the scheduled run uses the real date.
        row = session.get(RiskAcceptance, acceptance.id)
        assert row is not None
        row.expires_on = date(2020, 1, 1)
    huey = worker_huey(settings)
    name = "risk.expire_decisions"
    due = due_on_a_day(huey, name)
    assert due == [datetime(2026, 5, 1, 0, 31)]
    task = task_at(huey, name, due[0])
    assert task.execute()["summary"] == {
        "acceptances": [acceptance.id],
        "exceptions": [],
        "findings_reopened": [],
    }
    again = task.execute()
    assert again["ran"] is False, "a second trigger on the same day runs nothing"
    assert count(sessions, Alert) == 1
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.OPEN
