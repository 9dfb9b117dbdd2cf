"""Evidence is linked, not copied, and read live: a product's gaps, contradicted claims, open
findings and unacknowledged alerts; another tenant's evidence is refused with nothing written;
the same evidence suggests the same likelihood in every force; and a link whose evidence is
resolved stays listed but stops counting."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.risk.likelihood import EvidenceKind
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound
from posture.monitoring.inbox import acknowledge_alert
from posture.risk.evidence import available_evidence, linked_evidence, suggested_likelihood
from posture.risk.forms import read_form
from posture.risk.scenarios import (
    EvidenceRefsForm,
    link_evidence,
    unlink_evidence,
)
from posture.storage.engine import transaction
from posture.storage.models import Alert, AuditEvent, CheckRun, Product
from posture.storage.models.enums import Role
from posture.storage.models.risk import RiskScenario
from tests.identity.world import World
from tests.risk_register.test_scenarios import (
    C3B,
    CRITICAL_GAP,
    add_force,
    contradict_c3b,
    counts,
    deploy,
    f1,
    form_data,
    open_finding_ref,
    raise_one,
    today,
)


def add_alert(sessions: sessionmaker[Session], organisation_id: int, product_id: int) -> int:
    with transaction(sessions) as session:
        alert = Alert(
            organisation_id=organisation_id,
            product_id=product_id,
            code="TLS-DOWNGRADE",
            severity="high",
            title="TLS 1.0 offered again",
            advice="Turn it off.",
        )
        session.add(alert)
        session.flush()
        return alert.id


def refs(*pairs: tuple[str, str]) -> EvidenceRefsForm:
    return read_form(EvidenceRefsForm, {"refs": [{"kind": k, "ref": r} for k, r in pairs]})


def test_a_products_evidence_is_its_gaps_findings_and_open_alerts(world_db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    alert_id = add_alert(sessions, world.orgs["s1"].organisation_id, product_id)
    finding = open_finding_ref(sessions, world, "s1")
    with sessions() as session:
        found = available_evidence(session, product_id, today())
    by_key = {(view.kind, view.ref): view for view in found}
    gap = by_key[(EvidenceKind.FRAMEWORK_GAP, CRITICAL_GAP)]
    assert gap.label == "A4.b Data location and hosting: not_achieved, target achieved"
    assert gap.critical_outcome
    assert gap.severity is None
    assert gap.item().kind == EvidenceKind.FRAMEWORK_GAP
    assert (EvidenceKind.FRAMEWORK_GAP, CRITICAL_GAP.replace("a4.b", "a1.a")) not in by_key
    found_finding = by_key[(EvidenceKind.FINDING, finding)]
    assert found_finding.severity == "high"
    assert found_finding.label == "PQC-TLS-001 (high): No quantum-safe key exchange"
    assert by_key[(EvidenceKind.ALERT, f"alert:{alert_id}")].severity == "high"
    # Nothing of the other supplier's.
    other = open_finding_ref(sessions, world, "s2")
    assert all(view.ref != other for view in found)
    assert not any(view.kind == EvidenceKind.CONTRADICTED_CLAIM for view in found)


def test_a_product_without_a_submitted_assessment_has_no_gaps(world_db) -> None:
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        product = Product(
            organisation_id=world.orgs["s1"].organisation_id,
            name="Unassessed",
            category="digital_evidence",
            deployment_model="saas",
        )
        session.add(product)
        session.flush()
        product_id = product.id
    with sessions() as session:
        assert available_evidence(session, product_id, today()) == []
        assert available_evidence(session, 987_654, today()) == []


def test_a_force_alert_about_the_product_is_not_the_products_evidence(world_db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    alert_id = add_alert(sessions, world.orgs["f1"].organisation_id, product_id)
    with sessions() as session:
        found = available_evidence(session, product_id, today())
    assert f"alert:{alert_id}" not in {view.ref for view in found}


def test_a_scenario_raised_from_a_contradicted_claim(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    contradict_c3b(sessions, world, "s1")
    with sessions() as session:
        found = available_evidence(session, product_id, today())
    claims = [view for view in found if view.kind == EvidenceKind.CONTRADICTED_CLAIM]
    assert [view.ref for view in claims] == [C3B]
    assert claims[0].severity == "high"
    assert "contradicted by finding PQC-TLS-001" in claims[0].label
    deploy(sessions, force, product_id)
    scenario = raise_one(
        sessions,
        force.assessor,
        form_data(
            force,
            product_id,
            threat="quantum-harvest-now-decrypt-later",
            evidence=[{"kind": "contradicted_claim", "ref": C3B}],
        ),
    )
    assert scenario.suggested_likelihood == "possible"
    with sessions() as session:
        stored = session.get(RiskScenario, scenario.id)
        assert stored is not None
        suggestion = suggested_likelihood(session, stored, today())
    assert [rule.rule_id for rule in suggestion.because] == ["LIK-CONTRADICTED-CLAIM"]
    assert suggestion.because[0].refs == (C3B,)


def test_linking_another_suppliers_finding_is_refused_and_nothing_is_written(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    theirs = open_finding_ref(sessions, world, "s2")
    their_alert = add_alert(sessions, world.orgs["s2"].organisation_id, world.orgs["s2"].product_id)
    before = counts(sessions)
    for kind, ref in (("finding", theirs), ("alert", f"alert:{their_alert}")):
        with pytest.raises(ValidationFailed, match=rf"evidence: {kind} {ref} is not current"):
            raise_one(
                sessions,
                force.assessor,
                form_data(
                    force,
                    product_id,
                    evidence=[
                        {"kind": "framework_gap", "ref": CRITICAL_GAP},
                        {"kind": kind, "ref": ref},
                    ],
                ),
            )
    assert counts(sessions) == before
    scenario = raise_one(sessions, force.assessor, form_data(force, product_id))
    before = counts(sessions)
    both = refs(("framework_gap", CRITICAL_GAP), ("finding", theirs))
    with (
        pytest.raises(ValidationFailed, match=rf"{theirs} is not current"),
        transaction(sessions) as session,
    ):
        link_evidence(session, force.assessor, scenario.id, both, today())
    # A ref of the right kind's shape but the wrong kind is refused as well.
    mine = open_finding_ref(sessions, world, "s1")
    with pytest.raises(ValidationFailed, match=r"alert finding:"), transaction(sessions) as session:
        link_evidence(session, force.assessor, scenario.id, refs(("alert", mine)), today())
    assert counts(sessions) == before


def test_linking_to_another_forces_scenario_is_not_found(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    scenario = raise_one(sessions, force.assessor, form_data(force, product_id))
    other = add_force(sessions, "f2")
    deploy(sessions, other, product_id)
    before = counts(sessions)
    with pytest.raises(NotFound, match=r"scenario not found"), transaction(sessions) as s:
        link_evidence(
            s, other.assessor, scenario.id, refs(("framework_gap", CRITICAL_GAP)), today()
        )
    assert counts(sessions) == before


def test_two_forces_with_the_same_evidence_get_the_same_suggestion(world_db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    first, second = f1(world), add_force(sessions, "f2")
    finding = open_finding_ref(sessions, world, "s1")
    evidence = [
        {"kind": "framework_gap", "ref": CRITICAL_GAP},
        {"kind": "finding", "ref": finding},
    ]
    scenarios = []
    for force, order in ((first, evidence), (second, list(reversed(evidence)))):
        deploy(sessions, force, product_id)
        scenarios.append(
            raise_one(sessions, force.assessor, form_data(force, product_id, evidence=order))
        )
    assert [s.suggested_likelihood for s in scenarios] == ["likely", "likely"]
    assert scenarios[0].facts_digest == scenarios[1].facts_digest
    with sessions() as session:
        live = [
            suggested_likelihood(session, session.get(RiskScenario, s.id), today())
            for s in scenarios
        ]
    assert live[0] == live[1]
    assert live[0].likelihood == "likely"


def test_an_acknowledged_alert_stops_counting_and_the_suggestion_drops(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    alert_id = add_alert(sessions, world.orgs["s1"].organisation_id, product_id)
    scenario = raise_one(
        sessions,
        force.assessor,
        form_data(force, product_id, evidence=[{"kind": "alert", "ref": f"alert:{alert_id}"}]),
    )
    assert scenario.suggested_likelihood == "possible"
    # The supplier acknowledging its own alert settles nothing for the force carrying the risk.
    supplier = world.principal(Role.SUPPLIER_ADMIN)
    with transaction(sessions) as session:
        acknowledge_alert(session, supplier, alert_id, utcnow())
    with sessions() as session:
        stored = session.get(RiskScenario, scenario.id)
        assert stored is not None
        still = linked_evidence(session, stored, today())
        assert suggested_likelihood(session, stored, today()).likelihood == "possible"
    assert [(view.ref, view.state) for view in still] == [(f"alert:{alert_id}", "current")]
    with transaction(sessions) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.acknowledged_at, alert.acknowledged_by_user_id = None, None
        acknowledge_alert(session, world.principal(Role.NATIONAL_ASSESSOR), alert_id, utcnow())
    with sessions() as session:
        stored = session.get(RiskScenario, scenario.id)
        assert stored is not None
        views = linked_evidence(session, stored, today())
        suggestion = suggested_likelihood(session, stored, today())
    assert [(view.ref, view.state) for view in views] == [(f"alert:{alert_id}", "resolved")]
    assert "acknowledged" in views[0].label
    assert suggestion.likelihood == "unlikely"
    assert suggestion.because == ()


def test_a_finding_gone_from_the_latest_run_is_resolved(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    finding = open_finding_ref(sessions, world, "s1")
    scenario = raise_one(
        sessions,
        force.assessor,
        form_data(force, product_id, evidence=[{"kind": "finding", "ref": finding}]),
    )
    with transaction(sessions) as session:
        later = utcnow() - timedelta(minutes=1)
        session.add(
            CheckRun(
                organisation_id=world.orgs["s1"].organisation_id,
                product_id=product_id,
                kind="tls",
                target="s1.example:443",
                status="succeeded",
                created_at=later,
                finished_at=later,
            )
        )
    with sessions() as session:
        stored = session.get(RiskScenario, scenario.id)
        assert stored is not None
        views = linked_evidence(session, stored, today())
        assert suggested_likelihood(session, stored, today()).likelihood == "unlikely"
    assert [view.state for view in views] == ["resolved"]
    # Resolved links can still be linked again only once current; unlinking them works.
    with pytest.raises(ValidationFailed, match=r"already linked"), transaction(sessions) as s:
        link_evidence(s, force.assessor, scenario.id, refs(("finding", finding)), today())


def test_link_and_unlink_are_audited_and_checked(
    world_db: tuple[World, sessionmaker[Session], object],
) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    scenario = raise_one(sessions, force.assessor, form_data(force, product_id))
    with transaction(sessions) as session:
        made = link_evidence(
            session, force.assessor, scenario.id, refs(("framework_gap", CRITICAL_GAP)), today()
        )
        assert [link.ref for link in made] == [CRITICAL_GAP]
    before = counts(sessions)
    with pytest.raises(ValidationFailed, match=r"is not linked"), transaction(sessions) as s:
        unlink_evidence(
            s,
            force.assessor,
            scenario.id,
            refs(("framework_gap", CRITICAL_GAP), ("finding", "finding:424242")),
            today(),
        )
    assert counts(sessions) == before
    with transaction(sessions) as session:
        removed = unlink_evidence(
            session, force.assessor, scenario.id, refs(("framework_gap", CRITICAL_GAP)), today()
        )
    assert removed == 1
    with sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "risk_scenario", AuditEvent.object_id == str(scenario.id)
            )
        ).all()
    assert actions.count("risk.evidence_linked") == 1
    assert actions.count("risk.evidence_unlinked") == 1
    with pytest.raises(ValidationFailed, match=r"refs: List should have at least 1"):
        read_form(EvidenceRefsForm, {"refs": []})


def test_twenty_concurrent_links_of_one_ref_link_it_once(world_db) -> None:
    world, sessions, _ = world_db
    force, product_id = f1(world), world.orgs["s1"].product_id
    deploy(sessions, force, product_id)
    scenario = raise_one(sessions, force.assessor, form_data(force, product_id))

    def one(_: int) -> str:
        try:
            with transaction(sessions) as session:
                link_evidence(
                    session,
                    force.assessor,
                    scenario.id,
                    refs(("framework_gap", CRITICAL_GAP)),
                    today(),
                )
        except ValidationFailed as refused:
            return str(refused)
        return "linked"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(one, range(20)))
    assert outcomes.count("linked") == 1
    assert all("already linked" in text for text in outcomes if text != "linked")
    with sessions() as session:
        stored = session.get(RiskScenario, scenario.id)
        assert stored is not None
        assert [view.ref for view in linked_evidence(session, stored, today())] == [CRITICAL_GAP]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "risk.evidence_linked")
        ).all()
    assert len(events) == 1
