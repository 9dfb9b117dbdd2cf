"""Ratings of the same risk that disagree across forces: a national assessor sees every group
with names; a force sees only the groups it is in, with the others as "another force" and
their scenario ids withheld; closed scenarios and agreeing ratings are not reported."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from frameworks.deployment_facts import ForceUse
from posture.identity.permissions import PermissionDenied
from posture.portfolio.deployments import put_deployment
from posture.risk.consistency_report import ANOTHER_FORCE, WITHHELD, consistency_report
from posture.risk.register_view import register_table
from posture.storage.engine import transaction
from posture.storage.models.enums import RiskStatus, Role
from posture.storage.models.risk import RiskScenario
from tests.identity.world import World
from tests.risk_register.test_scenarios import (
    Force,
    add_force,
    deploy,
    f1,
    form_data,
    raise_one,
    today,
)

BECAUSE = "Our gateway blocks this route; see the force's design authority record."


def _rated(
    sessions: sessionmaker[Session], force: Force, product_id: int, **changes: Any
) -> RiskScenario:
    deploy(sessions, force, product_id)
    return raise_one(sessions, force.assessor, form_data(force, product_id, **changes))


def _two_forces_disagree(
    world: World, sessions: sessionmaker[Session]
) -> tuple[Force, Force, int, int]:
    product_id = world.orgs["s1"].product_id
    first, second = f1(world), add_force(sessions, "f2")
    low = _rated(sessions, first, product_id, current_impact="minor")  # unlikely x minor: low
    high = _rated(
        sessions,
        second,
        product_id,
        current_likelihood="likely",
        differs_because=BECAUSE,
    )  # likely x major: very high
    return first, second, low.id, high.id


def test_a_national_assessor_sees_the_divergence_with_names(world_db) -> None:
    world, sessions, _ = world_db
    _, _, low_id, high_id = _two_forces_disagree(world, sessions)
    with sessions() as session:
        report = consistency_report(session, world.principal(Role.NATIONAL_ASSESSOR))
    assert len(report) == 1
    group = report[0]
    assert group.product_id == str(world.orgs["s1"].product_id)
    assert group.threat == "data-breach"
    assert (group.lowest.id, group.highest.id, group.spread) == ("low", "very-high", 3)
    assert [r.rating.scenario_id for r in group.ratings] == [str(low_id), str(high_id)]
    assert [r.rating.organisation_name for r in group.ratings] == [
        "Organisation f1",
        "Force f2",
    ]
    assert group.ratings[1].rating.suggested_likelihood == "unlikely"
    with sessions() as session:
        assert consistency_report(session, world.principal(Role.PLATFORM_ADMIN)) == report


def test_a_force_sees_the_other_as_another_force(world_db) -> None:
    world, sessions, _ = world_db
    first, second, low_id, high_id = _two_forces_disagree(world, sessions)
    with sessions() as session:
        mine = consistency_report(session, first.assessor)
        theirs = consistency_report(session, second.assessor)
    assert len(mine) == 1
    own, other = mine[0].ratings
    assert (own.rating.organisation_name, own.rating.scenario_id) == (
        "Organisation f1",
        str(low_id),
    )
    assert other.rating.organisation_name == ANOTHER_FORCE
    assert other.rating.scenario_id == WITHHELD
    assert other.rating.organisation_id != str(second.organisation_id)
    # Their rating and level are shown, only who they are is not.
    assert (other.rating.likelihood, other.rating.impact, other.level.id) == (
        "likely",
        "major",
        "very-high",
    )
    assert "Force f2" not in mine[0].model_dump_json()
    assert str(high_id) not in [r.rating.scenario_id for r in mine[0].ratings]
    assert [r.rating.organisation_name for r in theirs[0].ratings] == [ANOTHER_FORCE, "Force f2"]


def test_a_force_outside_the_group_sees_nothing_and_suppliers_are_refused(world_db) -> None:
    world, sessions, _ = world_db
    _two_forces_disagree(world, sessions)
    third = add_force(sessions, "f3")
    with sessions() as session:
        assert consistency_report(session, third.assessor) == []
        with pytest.raises(PermissionDenied):
            consistency_report(session, world.principal(Role.SUPPLIER_ADMIN))
        with pytest.raises(PermissionDenied):
            consistency_report(session, world.principal(Role.PROCUREMENT_OFFICER))


def test_agreeing_closed_and_different_threats_are_not_reported(world_db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    first, second = f1(world), add_force(sessions, "f2")
    _rated(sessions, first, product_id)
    _rated(sessions, second, product_id)  # the same rating: no divergence
    different = _rated(
        sessions, second, product_id, threat="service-loss", current_impact="negligible"
    )
    national = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        assert consistency_report(session, national) == []
    # A higher rating by the second force diverges until it is closed.
    high = _rated(
        sessions, second, product_id, current_likelihood="likely", differs_because=BECAUSE
    )
    with sessions() as session:
        assert len(consistency_report(session, national)) == 1
    with transaction(sessions) as session:
        session.execute(
            update(RiskScenario).where(RiskScenario.id == high.id).values(status=RiskStatus.CLOSED)
        )
    with sessions() as session:
        assert consistency_report(session, national) == []
    assert different.threat == "service-loss"


def test_ratings_under_different_facts_are_not_compared(world_db) -> None:
    world, sessions, _ = world_db
    _, _, _, high_id = _two_forces_disagree(world, sessions)
    with transaction(sessions) as session:
        session.execute(
            update(RiskScenario).where(RiskScenario.id == high_id).values(facts_digest="f" * 64)
        )
    with sessions() as session:
        assert consistency_report(session, world.principal(Role.NATIONAL_ASSESSOR)) == []


def test_forces_that_use_a_product_differently_are_not_compared(world_db) -> None:
    """A force that puts SECRET data in the product and connects it to PNN judges a different
    deployment from one that does not: their ratings are not a divergence, and the stricter use
    is judged against the stricter appetite."""
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    first, second = f1(world), add_force(sessions, "f2")
    deploy(sessions, second, product_id)
    with transaction(sessions) as session:
        put_deployment(
            session,
            second.assessor,
            second.organisation_id,
            product_id,
            ForceUse(classification="secret", police_networks=["pnn"]),
        )
    _rated(sessions, first, product_id, current_impact="minor")
    _rated(sessions, second, product_id, current_likelihood="likely", differs_because=BECAUSE)
    _rated(sessions, second, product_id, current_impact="minor", title="The same, rated low")
    with sessions() as session:
        assert consistency_report(session, world.principal(Role.NATIONAL_ASSESSOR)) == []
        mine = register_table(session, first.assessor, first.organisation_id, today())
        theirs = register_table(session, second.assessor, second.organisation_id, today())
    # unlikely x minor is low: within OFFICIAL's appetite (medium), not SECRET's (very low).
    assert list(mine["within_appetite"]) == [True]
    assert list(theirs["within_appetite"]) == [False, False]
