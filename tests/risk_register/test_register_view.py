"""The register as a table: levels by name, the latest live acceptance, appetite by the subject
product's classification; a heatmap of every cell, zeros included; one product's scenarios
across forces for a national assessor and only its own for a force."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from posture.identity.permissions import NotFound, PermissionDenied
from posture.risk.forms import read_form
from posture.risk.register_view import (
    HEATMAP_COLUMNS,
    REGISTER_COLUMNS,
    heatmap_counts,
    national_view,
    register_table,
)
from posture.risk.scenarios import RatingForm, rate_scenario
from posture.risk.treatments import TreatmentForm, add_treatment
from posture.storage.engine import transaction
from posture.storage.models import Product
from posture.storage.models.enums import Role
from posture.storage.models.risk import RiskAcceptance
from tests.identity.world import World
from tests.risk_register.test_scenarios import (
    add_force,
    deploy,
    f1,
    form_data,
    raise_one,
    today,
)

BECAUSE = "Our gateway blocks this route; see the force's design authority record."


def _accept(
    sessions: sessionmaker[Session], world: World, scenario_id: int, expires: date, revoked: bool
) -> None:
    with transaction(sessions) as session:
        session.add(
            RiskAcceptance(
                scenario_id=scenario_id,
                approver_user_id=world.users[Role.SIRO],
                approver_role="siro",
                rationale="Accepted while the supplier migrates.",
                residual_level="high",
                expires_on=expires,
                revoked_at=utcnow() if revoked else None,
            )
        )


def test_the_register_lists_levels_acceptance_and_appetite(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    high = raise_one(
        sessions,
        force.assessor,
        form_data(force, product_id, current_likelihood="likely", differs_because=BECAUSE),
    )
    low = raise_one(sessions, force.assessor, form_data(force, None, subject_kind="organisation"))
    day = today()
    _accept(sessions, world, high.id, day + timedelta(days=30), revoked=False)
    _accept(sessions, world, high.id, day + timedelta(days=90), revoked=True)
    _accept(sessions, world, high.id, day - timedelta(days=1), revoked=False)
    _accept(sessions, world, low.id, day - timedelta(days=1), revoked=False)
    with sessions() as session:
        frame = register_table(session, force.assessor, force.organisation_id, day)
    assert tuple(frame.columns) == REGISTER_COLUMNS
    assert list(frame["id"]) == [high.id, low.id]
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["subject"] == "deployment: s1 Evidence Vault"
    assert first["threat"] == "Data breach"
    assert (first["inherent_level"], first["current_level"]) == ("Very high", "Very high")
    assert first["current_colour"] == "#800026"
    assert first["residual_level"] is None
    assert first["suggested_likelihood"] == "unlikely"
    assert first["status"] == "open"
    # The revoked longer acceptance and the expired one do not count.
    assert first["accepted_until"] == day + timedelta(days=30)
    assert not first["within_appetite"]  # very high against OFFICIAL's medium
    assert second["subject"] == "organisation: Organisation f1"
    assert second["accepted_until"] is None
    assert second["current_level"] == "Medium"
    assert second["within_appetite"]


def test_appetite_follows_the_products_classification(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    scenario = raise_one(sessions, force.assessor, form_data(force, product_id))
    # A residual stands for a treatment taken: transferring the risk lets one be rated.
    with transaction(sessions) as session:
        add_treatment(
            session,
            force.assessor,
            scenario.id,
            TreatmentForm(kind="transfer", description="Insured through the national contract"),
        )
    rating = read_form(
        RatingForm,
        {
            "inherent_likelihood": "likely",
            "inherent_impact": "major",
            "current_impact": "major",
            "residual_likelihood": "unlikely",
            "residual_impact": "moderate",
        },
    )
    with transaction(sessions) as session:
        rate_scenario(session, force.assessor, scenario.id, rating, today())
    with sessions() as session:
        frame = register_table(session, force.assessor, force.organisation_id, today())
    assert frame.iloc[0]["residual_level"] == "Medium"
    assert frame.iloc[0]["within_appetite"]  # medium is within OFFICIAL's appetite
    with transaction(sessions) as session:
        session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(max_classification="official", sensitive_caveat=True)
        )
    with sessions() as session:
        frame = register_table(session, force.assessor, force.organisation_id, today())
    assert not frame.iloc[0]["within_appetite"]  # OFFICIAL-SENSITIVE tolerates only low


def test_the_register_of_another_organisation_is_out_of_reach(world_db) -> None:
    world, sessions, _ = world_db
    other = add_force(sessions, "f2")
    with sessions() as session:
        with pytest.raises(NotFound):
            register_table(session, f1(world).assessor, other.organisation_id, today())
        with pytest.raises(PermissionDenied):
            register_table(
                session,
                world.principal(Role.SUPPLIER_ADMIN),
                world.orgs["s1"].organisation_id,
                today(),
            )
        national = world.principal(Role.NATIONAL_ASSESSOR)
        assert register_table(session, national, other.organisation_id, today()).empty


def test_the_heatmap_covers_every_cell_of_the_matrix(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    for _ in range(3):
        raise_one(sessions, force.assessor, form_data(force, product_id))
    raise_one(
        sessions,
        force.assessor,
        form_data(force, None, subject_kind="organisation", current_impact="severe"),
    )
    with sessions() as session:
        frame = register_table(session, force.assessor, force.organisation_id, today())
    cells = heatmap_counts(frame)
    assert tuple(cells.columns) == HEATMAP_COLUMNS
    assert len(cells) == 25
    assert len(cells[["likelihood", "impact"]].drop_duplicates()) == 25
    assert int(cells["count"].sum()) == 4
    counted = {(row.likelihood, row.impact): row.count for row in cells.itertuples() if row.count}
    assert counted == {("unlikely", "major"): 3, ("unlikely", "severe"): 1}
    top_left = cells.iloc[0]
    assert (top_left["likelihood"], top_left["impact"], top_left["level"]) == (
        "almost-certain",
        "negligible",
        "medium",
    )
    assert cells.iloc[24]["level"] == "medium"  # rare x severe
    empty = heatmap_counts(frame.iloc[0:0])
    assert len(empty) == 25
    assert int(empty["count"].sum()) == 0
    assert set(empty["colour"]) == {"#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c", "#800026"}


def test_the_national_view_shows_every_force_to_a_national_assessor_only(world_db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    first, second = f1(world), add_force(sessions, "f2")
    for force in (first, second):
        deploy(sessions, force, product_id)
        raise_one(sessions, force.assessor, form_data(force, product_id))
    national = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        everyone = national_view(session, national, product_id, today())
        mine = national_view(session, first.assessor, product_id, today())
        nothing = national_view(session, national, world.orgs["s2"].product_id, today())
        with pytest.raises(PermissionDenied):
            national_view(session, world.principal(Role.SUPPLIER_ADMIN), product_id, today())
    assert sorted(everyone["organisation"]) == ["Force f2", "Organisation f1"]
    assert list(mine["organisation"]) == ["Organisation f1"]
    assert nothing.empty
    assert tuple(nothing.columns) == REGISTER_COLUMNS
