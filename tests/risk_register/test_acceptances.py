"""Only the force's SIRO accepts a risk, for no longer than the appetite allows its level, never
for a product of a supplier they also work for; the acceptance says whether the risk is within
appetite, and it counts until revoked or past its day. Refusals change nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import update

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import verify_chain
from posture.identity.permissions import Membership, NotFound, PermissionDenied, Principal
from posture.risk.acceptance_state import acceptance_counts, current_acceptance
from posture.risk.acceptances import AcceptanceForm, accept_risk, revoke_acceptance
from posture.storage.engine import transaction
from posture.storage.models import Membership as MembershipRow
from posture.storage.models import Product, RiskAcceptance, RiskScenario
from posture.storage.models.enums import RiskStatus, Role
from tests.risk_register.test_treatments import (
    count,
    events,
    make_scenario,
    scenario_state,
    second_force,
    snapshot,
)

TODAY = date(2026, 12, 6)
RATIONALE = "The gateway is replaced in the spring; until then the vault is watched daily."


def _form(days: int, **changes: Any) -> AcceptanceForm:
    fields = {"rationale": RATIONALE, "expires_on": TODAY + timedelta(days=days), **changes}
    return AcceptanceForm.model_validate(fields)


def _accept(sessions, principal, scenario_id, days=90, today=TODAY) -> RiskAcceptance:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        return accept_risk(session, principal, scenario_id, _form(days), today)


@pytest.fixture
def high_risk(world_db):  # type: ignore[no-untyped-def]
    """A high risk (possible x major) of f1's about s1's product: acceptable for 90 days."""
    world, sessions, _ = world_db
    scenario_id = make_scenario(
        sessions, world.orgs["f1"].organisation_id, world.orgs["s1"].product_id
    )
    return world, sessions, scenario_id


def test_a_siro_accepts_a_high_risk_for_ninety_days(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    acceptance = _accept(sessions, world.principal(Role.SIRO), scenario_id, days=90)
    assert acceptance.residual_level == "high"
    assert acceptance.approver_role == "siro"
    assert acceptance.expires_on == date(2027, 3, 6)
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.ACCEPTED
    (event,) = events(sessions, "risk.accepted")
    assert event.data["acceptance_id"] == acceptance.id
    assert event.data["scenario_id"] == scenario_id
    assert event.data["residual_level"] == "high"
    assert event.data["expires_on"] == "2027-03-06"
    assert event.data["approver_role"] == "siro"
    # An OFFICIAL product tolerates medium: a high risk is accepted above appetite.
    assert (event.data["level"], event.data["status"]) == ("medium", "above_appetite")
    assert event.shown_data["rationale"] == RATIONALE
    assert event.organisation_id == world.orgs["f1"].organisation_id


def test_longer_than_the_levels_limit_is_refused_naming_it(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="at most 90 days, until 2027-03-06"):
        _accept(sessions, world.principal(Role.SIRO), scenario_id, days=91)
    assert snapshot(sessions) == before
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.OPEN


def test_a_very_high_risk_is_accepted_for_thirty_days_at_most(world_db) -> None:
    world, sessions, _ = world_db
    scenario_id = make_scenario(
        sessions,
        world.orgs["f1"].organisation_id,
        world.orgs["s1"].product_id,
        likelihood="almost-certain",
        impact="severe",
    )
    with pytest.raises(ValidationFailed, match="at most 30 days"):
        _accept(sessions, world.principal(Role.SIRO), scenario_id, days=90)
    assert _accept(sessions, world.principal(Role.SIRO), scenario_id, days=30).residual_level == (
        "very-high"
    )


def test_the_residual_decides_once_rated_and_may_be_within_appetite(world_db) -> None:
    world, sessions, _ = world_db
    scenario_id = make_scenario(
        sessions, world.orgs["f1"].organisation_id, world.orgs["s1"].product_id
    )
    with transaction(sessions) as session:
        scenario = session.get(RiskScenario, scenario_id)
        assert scenario is not None
        scenario.residual_likelihood, scenario.residual_impact = "rare", "minor"
    acceptance = _accept(sessions, world.principal(Role.SIRO), scenario_id, days=700)
    assert acceptance.residual_level == "very-low"
    (event,) = events(sessions, "risk.accepted")
    assert event.data["status"] == "within_appetite"


def test_a_secret_product_puts_a_low_risk_above_appetite(world_db) -> None:
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        product = session.get(Product, world.orgs["s1"].product_id)
        assert product is not None
        product.max_classification = "secret"
    scenario_id = make_scenario(
        sessions,
        world.orgs["f1"].organisation_id,
        world.orgs["s1"].product_id,
        likelihood="unlikely",
        impact="minor",
    )
    _accept(sessions, world.principal(Role.SIRO), scenario_id, days=365)
    (event,) = events(sessions, "risk.accepted")
    assert (event.data["residual_level"], event.data["level"]) == ("low", "very-low")
    assert event.data["status"] == "above_appetite"


@pytest.mark.parametrize("days", [0, -1, -3650])
def test_an_expiry_today_or_in_the_past_is_refused(high_risk, days: int) -> None:
    world, sessions, scenario_id = high_risk
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="is not after today"):
        _accept(sessions, world.principal(Role.SIRO), scenario_id, days=days)
    assert snapshot(sessions) == before


def test_a_force_assessor_may_not_accept(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    before = snapshot(sessions)
    with pytest.raises(PermissionDenied, match="does not allow"):
        _accept(sessions, world.principal(Role.FORCE_ASSESSOR), scenario_id)
    # Nor may it learn whether a scenario exists by asking for one that does not.
    with pytest.raises(PermissionDenied):
        _accept(sessions, world.principal(Role.FORCE_ASSESSOR), 10**9)
    assert snapshot(sessions) == before
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.OPEN


def test_a_siro_of_another_force_finds_nothing(high_risk) -> None:
    _, sessions, scenario_id = high_risk
    stranger = second_force(sessions)
    before = snapshot(sessions)
    with pytest.raises(NotFound, match="scenario not found"):
        _accept(sessions, stranger, scenario_id)
    with pytest.raises(NotFound, match="scenario not found"):
        _accept(sessions, stranger, 10**9)
    assert snapshot(sessions) == before


def test_a_siro_who_works_for_the_supplier_is_refused(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    siro = world.principal(Role.SIRO)
    both = Principal(
        siro.user_id,
        siro.email,
        (*siro.memberships, Membership(world.orgs["s1"].organisation_id, Role.SUPPLIER_MEMBER)),
    )
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="own organisation's supplier product"):
        _accept(sessions, both, scenario_id)
    assert snapshot(sessions) == before
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.OPEN


def test_a_supplier_membership_recorded_since_sign_in_also_refuses(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    siro = world.principal(Role.SIRO)
    with transaction(sessions) as session:
        session.add(
            MembershipRow(
                user_id=siro.user_id,
                organisation_id=world.orgs["s1"].organisation_id,
                role=Role.SUPPLIER_MEMBER,
            )
        )
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="own organisation's supplier product"):
        _accept(sessions, siro, scenario_id)
    assert snapshot(sessions) == before
    # The other supplier's product is no conflict.
    other = make_scenario(sessions, world.orgs["f1"].organisation_id, world.orgs["s2"].product_id)
    assert _accept(sessions, siro, other).scenario_id == other


def test_a_closed_scenario_is_not_accepted(world_db) -> None:
    world, sessions, _ = world_db
    scenario_id = make_scenario(
        sessions,
        world.orgs["f1"].organisation_id,
        world.orgs["s1"].product_id,
        status=RiskStatus.CLOSED,
    )
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="closed"):
        _accept(sessions, world.principal(Role.SIRO), scenario_id)
    assert snapshot(sessions) == before


def test_a_scenario_rated_on_another_matrix_must_be_rerated(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    with transaction(sessions) as session:
        session.execute(
            update(RiskScenario).where(RiskScenario.id == scenario_id).values(matrix_version="0.9")
        )
    with pytest.raises(ValidationFailed, match="re-rate it first"):
        _accept(sessions, world.principal(Role.SIRO), scenario_id)


@pytest.mark.parametrize(
    "changes",
    [
        {"rationale": "Too short"},
        {"rationale": "x" * 4001},
        {"rationale": "A perfectly long rationale\x07 with a bell"},
        {"conditions": "y" * 4001},
        {"expires_on": "soon"},
        {"expires_on": 20270101},
        {"expires_on": None},
        {"approver": "someone else"},
        {"rationale": {"$gt": ""}},
    ],
)
def test_hostile_acceptance_forms_are_refused(changes: dict[str, Any]) -> None:
    fields = {"rationale": RATIONALE, "expires_on": "2027-01-01", **changes}
    with pytest.raises(ValidationError):
        AcceptanceForm.model_validate(fields)


def test_an_acceptance_counts_through_its_last_day_and_not_after(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    acceptance = _accept(sessions, world.principal(Role.SIRO), scenario_id, days=30)
    last_day = acceptance.expires_on
    assert acceptance_counts(acceptance, last_day)
    assert not acceptance_counts(acceptance, last_day + timedelta(days=1))
    with sessions() as session:
        assert current_acceptance(session, scenario_id, last_day) is not None
        assert current_acceptance(session, scenario_id, last_day + timedelta(days=1)) is None


def test_revoking_reopens_unless_a_newer_acceptance_counts(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    siro = world.principal(Role.SIRO)
    first = _accept(sessions, siro, scenario_id, days=30)
    second = _accept(sessions, siro, scenario_id, days=60)
    with sessions() as session:
        newest = current_acceptance(session, scenario_id, TODAY)
        assert newest is not None
        assert newest.id == second.id
    with transaction(sessions) as session:
        revoked = revoke_acceptance(session, siro, second.id, TODAY)
        assert not acceptance_counts(revoked, TODAY)
    # The first still carries the risk.
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.ACCEPTED
    with transaction(sessions) as session:
        revoke_acceptance(session, siro, first.id, TODAY)
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.OPEN
    assert [e.data["status"] for e in events(sessions, "risk.acceptance_revoked")] == [
        "accepted",
        "open",
    ]
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="already revoked"), transaction(sessions) as s:
        revoke_acceptance(s, siro, first.id, TODAY)
    with pytest.raises(NotFound, match="acceptance not found"), transaction(sessions) as s:
        revoke_acceptance(s, second_force(sessions), first.id, TODAY)
    with pytest.raises(PermissionDenied), transaction(sessions) as s:
        revoke_acceptance(s, world.principal(Role.FORCE_ASSESSOR), first.id, TODAY)
    assert snapshot(sessions)[1:] == before[1:]  # second_force wrote no audit, only a user


def test_twenty_acceptances_at_once_take_turns_and_are_all_kept(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    siro = world.principal(Role.SIRO)

    def accept(days: int) -> int:
        return _accept(sessions, siro, scenario_id, days=days).id

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(accept, range(71, 91)))
    assert len(set(ids)) == 20
    assert count(sessions, RiskAcceptance, RiskAcceptance.scenario_id == scenario_id) == 20
    accepted = events(sessions, "risk.accepted")
    assert sorted(e.data["acceptance_id"] for e in accepted) == sorted(ids)
    # Each read the status the one before it left: only the first found the scenario open.
    assert [e.data["from"] for e in accepted].count("open") == 1
    assert scenario_state(sessions, scenario_id)[0] is RiskStatus.ACCEPTED
    with sessions() as session:
        assert verify_chain(session).intact
        assert current_acceptance(session, scenario_id, TODAY) is not None


def test_an_acceptance_revoked_long_ago_stays_revoked(high_risk) -> None:
    world, sessions, scenario_id = high_risk
    acceptance = _accept(sessions, world.principal(Role.SIRO), scenario_id, days=90)
    with transaction(sessions) as session:
        session.execute(
            update(RiskAcceptance)
            .where(RiskAcceptance.id == acceptance.id)
            .values(revoked_at=utcnow() - timedelta(days=1))
        )
        row = session.get(RiskAcceptance, acceptance.id)
        assert row is not None
        assert not acceptance_counts(row, TODAY)
