"""Raising and rating risk scenarios: only a force or national body owns them, a force files risks
only about products it deploys (and is not told of others), a rating away from the platform's
suggestion says why, and a refusal leaves nothing behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.urns import outcome_urn
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.identity.permissions import Membership, NotFound, PermissionDenied, Principal
from posture.portfolio.deployments import deploy_product, end_deployment, live_deployment
from posture.risk.forms import read_form
from posture.risk.scenarios import (
    RatingForm,
    ScenarioForm,
    get_scenario,
    raise_scenario,
    rate_scenario,
    scenarios_query,
)
from posture.risk.treatments import TreatmentForm, add_treatment
from posture.storage.engine import transaction
from posture.storage.models import Answer, AuditEvent, Finding, Organisation, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from posture.storage.models.risk import RiskEvidenceLink, RiskScenario
from tests.identity.world import World
from tests.risk_register.listing import list_product

CRITICAL_GAP = "outcome:" + outcome_urn("ptsbd", "1.0", "A4.b")
C3B = "outcome:" + outcome_urn("ptsbd", "1.0", "C3.b")


def today() -> date:
    # Evidence raised during the test (alerts, runs) is stamped now: "today" must include it.
    return utcnow().date()


@dataclass(frozen=True)
class Force:
    organisation_id: int
    assessor: Principal


def add_force(sessions: sessionmaker[Session], slug: str) -> Force:
    """A second (third...) force with its own assessor."""
    with transaction(sessions) as session:
        org = Organisation(slug=slug, name=f"Force {slug}", kind="force")
        session.add(org)
        session.flush()
        user = User(email=f"assessor@{slug}.police.uk", display_name=f"assessor {slug}")
        session.add(user)
        session.flush()
        session.add(
            MembershipRow(user_id=user.id, organisation_id=org.id, role=Role.FORCE_ASSESSOR)
        )
        return Force(
            org.id,
            Principal(user.id, user.email, (Membership(org.id, Role.FORCE_ASSESSOR),)),
        )


def f1(world: World) -> Force:
    return Force(world.orgs["f1"].organisation_id, world.principal(Role.FORCE_ASSESSOR))


def deploy(sessions: sessionmaker[Session], force: Force, product_id: int) -> None:
    with transaction(sessions) as session:
        list_product(session, product_id)
        deploy_product(session, force.assessor, force.organisation_id, product_id)


def form_data(force: Force, product_id: int | None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "organisation_id": force.organisation_id,
        "subject_kind": "deployment",
        "product_id": product_id,
        "title": "Evidence vault hosted outside the UK",
        "threat": "data-breach",
        "threat_text": "A foreign authority compels disclosure of victim statements.",
        "vulnerability_text": "Data location and hosting are not achieved.",
        "inherent_likelihood": "likely",
        "inherent_impact": "major",
        "current_impact": "major",
        "evidence": [],
    }
    data.update(changes)
    return data


def raise_one(
    sessions: sessionmaker[Session], principal: Principal, data: dict[str, Any]
) -> RiskScenario:
    with transaction(sessions) as session:
        return raise_scenario(session, principal, read_form(ScenarioForm, data), today())


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(RiskScenario)) or 0,
            session.scalar(select(func.count()).select_from(RiskEvidenceLink)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def open_finding_ref(sessions: sessionmaker[Session], world: World, slug: str) -> str:
    with sessions() as session:
        finding_id = session.scalar(
            select(Finding.id).where(Finding.check_run_id == world.orgs[slug].check_run_id)
        )
    return f"finding:{finding_id}"


def contradict_c3b(sessions: sessionmaker[Session], world: World, slug: str) -> None:
    """Claim C3.b achieved in the submitted assessment: the world's PQC-TLS-001 finding, which
    the scoring policy caps at not achieved, then contradicts the claim."""
    with transaction(sessions) as session:
        session.add(
            Answer(
                assessment_id=world.orgs[slug].submitted_assessment_id,
                outcome_id="C3.b",
                outcome_urn=outcome_urn("ptsbd", "1.0", "C3.b"),
                indicators_met=["C3.b.PA1", "C3.b.A1", "C3.b.A2"],
                provenance="self_asserted",
                answered_at=utcnow(),
            )
        )


def test_a_force_raises_a_deployment_risk_on_its_evidence_with_the_suggestion(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    finding = open_finding_ref(sessions, world, "s1")
    data = form_data(
        force,
        product_id,
        evidence=[
            {"kind": "framework_gap", "ref": CRITICAL_GAP},
            {"kind": "finding", "ref": finding},
        ],
    )
    scenario = raise_one(sessions, force.assessor, data)
    # unlikely, +1 for a critical outcome not achieved, +1 for a high finding
    assert scenario.suggested_likelihood == "likely"
    assert scenario.current_likelihood == "likely"
    assert scenario.differs_because is None
    assert scenario.status == "open"
    assert scenario.matrix_version == "1.0"
    assert len(scenario.facts_digest) == 64
    assert scenario.supplier_id == world.orgs["s1"].organisation_id
    with sessions() as session:
        refs = session.scalars(
            select(RiskEvidenceLink.ref).where(RiskEvidenceLink.scenario_id == scenario.id)
        ).all()
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "risk.raised", AuditEvent.object_id == str(scenario.id)
            )
        )
    assert sorted(refs) == sorted([CRITICAL_GAP, finding])
    assert event is not None
    assert event.organisation_id == force.organisation_id
    assert event.data["suggested"] == "likely"
    with sessions() as session:
        deployment = live_deployment(session, force.organisation_id, product_id)
    assert deployment is not None
    assert event.data["deployment_id"] == deployment.id
    assert event.data["level"] == "very-high"
    assert sorted(event.data["links"]) == sorted([CRITICAL_GAP, finding])
    # Free text is kept apart from the hashed chain.
    assert "title" not in event.data
    assert "threat_text" not in event.data


def test_rating_away_from_the_suggestion_needs_a_reason_and_keeps_it(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    before = counts(sessions)
    with pytest.raises(ValidationFailed, match=r"differs_because: the evidence suggests unlikely"):
        raise_one(sessions, force.assessor, form_data(force, product_id, current_likelihood="rare"))
    with pytest.raises(ValidationFailed, match=r"differs_because"):
        raise_one(
            sessions,
            force.assessor,
            form_data(force, product_id, current_likelihood="rare", differs_because="short"),
        )
    assert counts(sessions) == before
    because = "Our deployment is behind the force gateway with its own controls."
    scenario = raise_one(
        sessions,
        force.assessor,
        form_data(force, product_id, current_likelihood="rare", differs_because=because),
    )
    assert (scenario.current_likelihood, scenario.suggested_likelihood) == ("rare", "unlikely")
    assert scenario.differs_because == because


def test_a_force_that_does_not_deploy_a_product_is_told_it_does_not_exist(world_db) -> None:
    world, sessions, _ = world_db
    force = f1(world)
    before = counts(sessions)
    for product_id in (world.orgs["s2"].product_id, 999_999):
        for kind in ("deployment", "product"):
            with pytest.raises(NotFound, match=r"^product not found$"):
                raise_one(sessions, force.assessor, form_data(force, product_id, subject_kind=kind))
    assert counts(sessions) == before


def test_an_ended_deployment_no_longer_reaches_the_product(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    with transaction(sessions) as session:
        end_deployment(session, force.assessor, force.organisation_id, product_id)
    with pytest.raises(NotFound, match=r"product not found"):
        raise_one(sessions, force.assessor, form_data(force, product_id))


@pytest.mark.parametrize(
    "role", [Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER, Role.PROCUREMENT_OFFICER]
)
def test_roles_without_risk_write_are_refused(world_db, role: Role) -> None:
    world, sessions, _ = world_db
    force = f1(world)
    deploy(sessions, force, world.orgs["s1"].product_id)
    before = counts(sessions)
    with pytest.raises(PermissionDenied):
        raise_one(sessions, world.principal(role), form_data(force, world.orgs["s1"].product_id))
    assert counts(sessions) == before


def test_an_assessor_cannot_raise_for_another_organisation(world_db) -> None:
    world, sessions, _ = world_db
    other = add_force(sessions, "f2")
    deploy(sessions, other, world.orgs["s1"].product_id)
    before = counts(sessions)
    with pytest.raises(NotFound):
        raise_one(sessions, f1(world).assessor, form_data(other, world.orgs["s1"].product_id))
    assert counts(sessions) == before


def test_only_a_force_or_national_body_owns_a_risk(world_db) -> None:
    world, sessions, _ = world_db
    supplier = Force(world.orgs["s1"].organisation_id, world.principal(Role.FORCE_ASSESSOR, "s1"))
    with pytest.raises(ValidationFailed, match=r"only a force or a national body owns risks"):
        raise_one(
            sessions,
            supplier.assessor,
            form_data(supplier, None, subject_kind="organisation"),
        )


def test_a_national_body_files_product_risks_without_deploying(world_db) -> None:
    world, sessions, _ = world_db
    national = Force(world.orgs["n1"].organisation_id, world.principal(Role.NATIONAL_ASSESSOR))
    product_id = world.orgs["s2"].product_id
    scenario = raise_one(
        sessions, national.assessor, form_data(national, product_id, subject_kind="product")
    )
    assert scenario.product_id == product_id
    with pytest.raises(ValidationFailed, match=r"only a force deploys products"):
        raise_one(sessions, national.assessor, form_data(national, product_id))


def test_supplier_and_organisation_subjects(world_db) -> None:
    world, sessions, _ = world_db
    force = f1(world)
    deploy(sessions, force, world.orgs["s1"].product_id)
    s1, s2 = world.orgs["s1"].organisation_id, world.orgs["s2"].organisation_id
    supplier = raise_one(
        sessions, force.assessor, form_data(force, None, subject_kind="supplier", supplier_id=s1)
    )
    assert (supplier.supplier_id, supplier.product_id, supplier.facts_digest) == (s1, None, "")
    with pytest.raises(NotFound, match=r"supplier not found"):
        raise_one(
            sessions,
            force.assessor,
            form_data(force, None, subject_kind="supplier", supplier_id=s2),
        )
    # A force is not a supplier, whatever its id.
    with pytest.raises(NotFound, match=r"supplier not found"):
        raise_one(
            sessions,
            force.assessor,
            form_data(force, None, subject_kind="supplier", supplier_id=force.organisation_id),
        )
    itself = raise_one(
        sessions, force.assessor, form_data(force, None, subject_kind="organisation")
    )
    assert itself.supplier_id is None
    before = counts(sessions)
    with pytest.raises(ValidationFailed, match=r"product_id: a organisation risk names no product"):
        raise_one(
            sessions,
            force.assessor,
            form_data(force, world.orgs["s1"].product_id, subject_kind="organisation"),
        )
    with pytest.raises(ValidationFailed, match=r"evidence: only a product or deployment risk"):
        raise_one(
            sessions,
            force.assessor,
            form_data(
                force,
                None,
                subject_kind="organisation",
                evidence=[{"kind": "framework_gap", "ref": CRITICAL_GAP}],
            ),
        )
    with pytest.raises(ValidationFailed, match=r"product_id: a deployment risk names its product"):
        raise_one(sessions, force.assessor, form_data(force, None))
    assert counts(sessions) == before


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"title": "x" * 201}, r"title: String should have at most 200"),
        ({"title": "   "}, r"title: String should have at least 3"),
        ({"title": "bell\x07"}, r"title: must not contain control characters"),
        ({"threat_text": "a\x1b[31mred"}, r"threat_text: must not contain control characters"),
        ({"vulnerability_text": "v" * 4001}, r"vulnerability_text: String should have at most"),
        ({"threat": "alien-invasion"}, r"threat: 'alien-invasion' is not a threat"),
        ({"inherent_likelihood": "sometimes"}, r"inherent_likelihood: 'sometimes' is not a"),
        ({"current_impact": "catastrophic"}, r"current_impact: 'catastrophic' is not an impact"),
        ({"current_likelihood": 3}, r"current_likelihood: Input should be a valid string"),
        ({"organisation_id": "1"}, r"organisation_id: Input should be a valid integer"),
        ({"organisation_id": True}, r"organisation_id: Input should be a valid integer"),
        ({"supplier_id": -4}, r"supplier_id: Input should be greater than or equal to 1"),
        ({"subject_kind": "everything"}, r"subject_kind: Input should be"),
        ({"owner": "me"}, r"owner: Extra inputs are not permitted"),
        ({"differs_because": "x" * 4001}, r"differs_because: String should have at most"),
        ({"evidence": [{"kind": "rumour", "ref": "x:1"}]}, r"evidence.0.kind: Input should be"),
        ({"evidence": [{"kind": "finding", "ref": "finding:1;drop"}]}, r"evidence.0.ref"),
        ({"evidence": [{"kind": "finding", "ref": "f:" + "1" * 200}]}, r"evidence.0.ref"),
        (
            {"evidence": [{"kind": "finding", "ref": f"finding:{n}"} for n in range(101)]},
            r"evidence: List should have at most 100",
        ),
        (
            {"evidence": [{"kind": "finding", "ref": "finding:1"}] * 2},
            r"finding finding:1 is listed twice",
        ),
        ({"evidence": {"kind": "finding"}}, r"evidence: Input should be a valid list"),
    ],
)
def test_hostile_forms_are_refused_by_field(
    world_db, changes: dict[str, Any], problem: str
) -> None:
    world, _, _ = world_db
    data = form_data(f1(world), world.orgs["s1"].product_id, **changes)
    with pytest.raises(ValidationFailed, match=problem):
        read_form(ScenarioForm, data)


def test_twenty_concurrent_raises_all_land(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    finding = open_finding_ref(sessions, world, "s1")

    def one(index: int) -> int:
        data = form_data(
            force,
            product_id,
            title=f"Risk {index}",
            evidence=[{"kind": "finding", "ref": finding}],
        )
        return raise_one(sessions, force.assessor, data).id

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(one, range(20)))
    assert len(set(ids)) == 20
    with sessions() as session:
        raised = session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "risk.raised")
        ).all()
        links = session.scalar(
            select(func.count())
            .select_from(RiskEvidenceLink)
            .where(RiskEvidenceLink.scenario_id.in_(ids))
        )
    assert sorted(raised) == sorted(str(i) for i in ids)
    assert links == 20


def _rating(**changes: Any) -> RatingForm:
    data: dict[str, Any] = {
        "inherent_likelihood": "likely",
        "inherent_impact": "major",
        "current_impact": "moderate",
    }
    data.update(changes)
    return read_form(RatingForm, data)


def test_rating_records_before_and_after_levels(world_db) -> None:
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
    with transaction(sessions) as session:
        rated = rate_scenario(
            session,
            force.assessor,
            scenario.id,
            _rating(residual_likelihood="rare", residual_impact="moderate"),
            today(),
        )
        assert (rated.current_likelihood, rated.current_impact) == ("unlikely", "moderate")
        assert (rated.residual_likelihood, rated.residual_impact) == ("rare", "moderate")
    with sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "risk.rated"))
    assert event is not None
    assert event.data["before"]["level"] == "medium"  # unlikely x major
    assert event.data["after"]["level"] == "medium"  # unlikely x moderate
    assert event.data["before"]["residual_level"] is None
    assert event.data["after"]["residual_level"] == "low"
    assert event.data["after"]["residual"] == "rare/moderate"
    with pytest.raises(ValidationFailed, match=r"residual: give both"):
        _rating(residual_likelihood="rare")
    before = counts(sessions)
    with pytest.raises(ValidationFailed, match=r"differs_because"), transaction(sessions) as s:
        rate_scenario(s, force.assessor, scenario.id, _rating(current_likelihood="likely"), today())
    assert counts(sessions) == before


def test_another_force_can_neither_rate_nor_read_a_scenario(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    scenario = raise_one(sessions, force.assessor, form_data(force, product_id))
    other = add_force(sessions, "f2")
    before = counts(sessions)
    with pytest.raises(NotFound, match=r"scenario not found"), transaction(sessions) as session:
        rate_scenario(session, other.assessor, scenario.id, _rating(), today())
    with sessions() as session:
        with pytest.raises(NotFound, match=r"scenario not found"):
            get_scenario(session, other.assessor, scenario.id)
        with pytest.raises(NotFound, match=r"scenario not found"):
            get_scenario(session, other.assessor, 987_654)
        with pytest.raises(PermissionDenied):
            get_scenario(session, world.principal(Role.SUPPLIER_ADMIN), scenario.id)
        national = world.principal(Role.NATIONAL_ASSESSOR)
        assert get_scenario(session, national, scenario.id).id == scenario.id
        assert session.scalars(scenarios_query(other.assessor)).all() == []
        mine = session.scalars(scenarios_query(force.assessor, product_id=product_id)).all()
        assert [s.id for s in mine] == [scenario.id]
        everyone = session.scalars(scenarios_query(national, organisation_id=other.organisation_id))
        assert everyone.all() == []
    # The national assessor reads every register but writes only its own.
    with pytest.raises(NotFound), transaction(sessions) as session:
        rate_scenario(session, national, scenario.id, _rating(), today())
    assert counts(sessions) == before
